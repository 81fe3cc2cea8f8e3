// Finalize-time CSR checks (RFC 8555 §7.4, §11.1): proof of possession, acceptable key, exactly the
// order's names, never the account key. Failures are badCSR, and leave the order `ready`.
import { verify, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Extensions, id_ce_basicConstraints, id_ce_subjectAltName, SubjectAlternativeName, type Extension, type GeneralName } from '@peculiar/asn1-x509';
import { readCsrDer, type CsrFields, type SanEntry } from './csr-der.js';
import { importSpki } from './csr-key.js';
import { jwkThumbprint } from './jwk-thumbprint.js';
import { publicKeyObject } from './jws-signature.js';
import { sha256Hex } from '../ca/inspect.js';
import { x509 } from '../ca/x509.js';
import { normalizeDnsName } from '../inventory/names.js';
import { base64urlMember, show } from './json.js';
import { problem } from './problems.js';

export interface CheckedCsr {
  der: Uint8Array;
  /** SubjectPublicKeyInfo DER of the CSR key. */
  spki: Uint8Array;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex. */
  spkiSha256: string;
  names: string[];
}

/** SPKI DER of a (validated, public) JWK, for comparing an account or revocation key with a certificate key. */
export function jwkSpki(jwk: JWK): Uint8Array {
  try {
    // The KeyObject cache of the JWS check: the account's key was imported for its request already.
    return new Uint8Array(publicKeyObject(jwk).export({ format: 'der', type: 'spki' }));
  } catch {
    throw problem('badPublicKey', 'the JWK is not a usable public key');
  }
}

/** Leaf key policy (docs/DESIGN.md): ECDSA P-256/P-384, RSA ≥ 2048, Ed25519. */
function checkLeafKey(spkiDer: Uint8Array): { key: KeyObject; jwk?: JWK } {
  let imported: { key: KeyObject; jwk?: JWK };
  try {
    imported = importSpki(spkiDer);
  } catch {
    throw problem('badCSR', 'the CSR public key cannot be parsed');
  }
  const ko = imported.key;
  const d = ko.asymmetricKeyDetails ?? {};
  switch (ko.asymmetricKeyType) {
    case 'ec':
      if (d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1') return imported;
      throw problem('badCSR', `EC curve ${d.namedCurve} is not accepted (P-256, P-384)`);
    case 'rsa':
      if ((d.modulusLength ?? 0) >= 2048 && (d.modulusLength ?? 0) <= 8192) return imported;
      throw problem('badCSR', `RSA key of ${d.modulusLength} bits is not accepted (2048 to 8192)`);
    case 'ed25519':
      return imported;
    default:
      throw problem('badCSR', `CSR key type ${ko.asymmetricKeyType} is not accepted (ECDSA P-256/P-384, RSA ≥ 2048, Ed25519)`);
  }
}

// Signature algorithms of PKCS#10 requests (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3) → node:crypto.
const SIGNATURE_ALGORITHMS: Record<string, { key: string; hash: string | null }> = {
  '1.2.840.10045.4.3.2': { key: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { key: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { key: 'ec', hash: 'sha512' },
  '1.2.840.113549.1.1.11': { key: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'sha512' },
  '1.3.101.112': { key: 'ed25519', hash: null },
};
const SHA1_SIGNATURES = new Set(['1.2.840.10045.4.1', '1.2.840.113549.1.1.5']);
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14'; // PKCS#9 extensionRequest (RFC 2985 §5.4.2)

/**
 * The PKCS#10 signature (RFC 2986 §4.2), verified by node:crypto over the request's original
 * certificationRequestInfo bytes. SHA-1 is refused; other algorithms (RSA-PSS) fall back to
 * @peculiar/x509's verify.
 */
async function csrSignatureValid(f: CsrFields, der: Uint8Array, key: KeyObject): Promise<boolean> {
  const oid = f.signatureAlgorithm;
  if (SHA1_SIGNATURES.has(oid)) throw problem('badCSR', 'the CSR is signed with SHA-1; use SHA-256 or better');
  const alg = SIGNATURE_ALGORITHMS[oid];
  try {
    if (!alg || !f.info) return await new x509.Pkcs10CertificateRequest(Buffer.from(der)).verify();
    if (key.asymmetricKeyType !== alg.key) return false;
    return verify(alg.hash, f.info, alg.key === 'ec' ? { key, dsaEncoding: 'der' } : key, f.signature);
  } catch {
    return false;
  }
}

/** The GeneralName kinds this CA refuses, named for the error. */
function sanEntry(g: GeneralName): SanEntry {
  if (g.dNSName !== undefined) return { dns: g.dNSName };
  return { kind: g.iPAddress !== undefined ? 'IP address' : g.rfc822Name !== undefined ? 'email' : g.uniformResourceIdentifier !== undefined ? 'URI' : 'non-DNS' };
}

/**
 * The requested extensions (PKCS#9 extensionRequest, RFC 2985 §5.4.2) as the library reads them:
 * SANs in order, stopping at a request for a CA certificate; undefined if they cannot be parsed.
 */
function libraryExtensions(req: CertificationRequest): CsrFields['extensions'] {
  try {
    const exts: Extension[] = [];
    for (const attr of req.certificationRequestInfo.attributes) {
      if (attr.type !== EXTENSION_REQUEST) continue;
      for (const value of attr.values) exts.push(...AsnConvert.parse(value, Extensions));
    }
    const sans: SanEntry[] = [];
    for (const ext of exts) {
      if (ext.extnID === id_ce_subjectAltName) sans.push(...AsnConvert.parse(ext.extnValue.buffer, SubjectAlternativeName).map(sanEntry));
      if (ext.extnID === id_ce_basicConstraints && AsnConvert.parse(ext.extnValue.buffer, BasicConstraints).cA) return { ca: true, sans };
    }
    return { ca: false, sans };
  } catch {
    return undefined;
  }
}

/**
 * The reference reading of a request with @peculiar/asn1-csr (and @peculiar/x509 for the subject);
 * undefined when it is not a PKCS#10 request. Used for whatever readCsrDer does not answer, and
 * by the differential test as the oracle.
 */
export function libraryCsrFields(der: Uint8Array): CsrFields | undefined {
  let req: CertificationRequest;
  let spki: ArrayBuffer;
  try {
    req = AsnConvert.parse(der, CertificationRequest);
    spki = AsnConvert.serialize(req.certificationRequestInfo.subjectPKInfo);
    new x509.PublicKey(spki);
  } catch {
    return undefined;
  }
  let commonNames: string[] | undefined;
  try {
    commonNames = new x509.Name(AsnConvert.serialize(req.certificationRequestInfo.subject)).getField('CN');
  } catch {
    commonNames = undefined;
  }
  return {
    ...(req.certificationRequestInfoRaw ? { info: new Uint8Array(req.certificationRequestInfoRaw) } : {}),
    spki: new Uint8Array(spki),
    signatureAlgorithm: req.signatureAlgorithm.algorithm,
    signature: new Uint8Array(req.signature),
    extensions: libraryExtensions(req),
    commonNames,
  };
}

/** One pass over canonical DER (csr-der.ts); anything else is read by the library, the reference. */
export function readCsrFields(der: Uint8Array): CsrFields | undefined {
  return readCsrDer(der) ?? libraryCsrFields(der);
}

/** RFC 7638 thumbprint of a CSR key, comparable with account thumbprints (the store indexes them). */
function keyThumbprint(key: KeyObject, jwk: JWK | undefined): string | undefined {
  try {
    return jwkThumbprint(jwk ?? (key.export({ format: 'jwk' }) as JWK));
  } catch {
    return undefined;
  }
}

/**
 * A DNS name of the CSR as the order's identifier it must equal: compared without regard to case
 * (RFC 4343), and otherwise exactly, as the order's identifiers are (RFC 5280 §4.2.1.6 preferred
 * name syntax, RFC 8555 §7.1.4): a trailing dot or white space is not the same name.
 */
function csrDnsName(name: string, where: string): string {
  if (name === '' || name !== name.trim() || name.endsWith('.')) {
    throw problem('badCSR', `the CSR ${where} ${show(name)} is not a DNS name in preferred name syntax (RFC 5280 §4.2.1.6)`);
  }
  return name.toLowerCase();
}

/** A request as read before its checks: the DER, its fields, and its key (leaf key policy passed). */
export interface ReadCsr {
  der: Uint8Array;
  fields: CsrFields;
  key: KeyObject;
  /** RFC 7638 thumbprint of the key, as account keys are indexed; undefined if it has none. */
  thumbprint: string | undefined;
}

/** Decodes the request and imports its key; throws malformed or badCSR as checkCsr reports them. */
export function readCsr(csrB64: unknown, readFields: (der: Uint8Array) => CsrFields | undefined = readCsrFields): ReadCsr {
  const der = base64urlMember(csrB64, '"csr" (the DER of a PKCS#10 request, RFC 8555 §7.4)');
  const fields = readFields(der);
  if (!fields) throw problem('badCSR', 'the CSR is not a DER PKCS#10 certificate request');
  const { key, jwk } = checkLeafKey(fields.spki);
  return { der, fields, key, thumbprint: keyThumbprint(key, jwk) };
}

/**
 * readCsr without reporting anything: undefined for whatever readCsr refuses. finalize reads the
 * request before its order, so that the order's read can also answer whether the key is an
 * account's; what is wrong with the request is reported later by checkCsr, after the order's
 * checks, exactly as without this read.
 */
export function readCsrQuietly(csrB64: unknown): ReadCsr | undefined {
  try {
    return readCsr(csrB64);
  } catch {
    return undefined;
  }
}

/**
 * `isAccountKey` answers whether a JWK thumbprint is the key of any account this server knows
 * (§11.1: an account key must never be certified, whoever's account it is). `source.read`: the
 * request as readCsr already read it (finalize's hot path parses it once); else it is read here,
 * with `source.readFields` if given (the differential test's library reader; the default reads
 * canonical DER in one pass).
 */
export async function checkCsr(
  csrB64: unknown,
  orderNames: readonly string[],
  accountSpki: Uint8Array,
  isAccountKey: (thumbprint: string) => Promise<boolean>,
  source: { read?: ReadCsr; readFields?: (der: Uint8Array) => CsrFields | undefined } = {},
): Promise<CheckedCsr> {
  const { der, fields: f, key, thumbprint } = source.read ?? readCsr(csrB64, source.readFields);
  if (!(await csrSignatureValid(f, der, key))) throw problem('badCSR', 'the CSR signature does not verify (RFC 2986 proof of possession)');
  // §11.1: an account key must never be certified.
  if (Buffer.compare(f.spki, accountSpki) === 0) {
    throw problem('badCSR', 'the CSR uses the account key; certificates must use a different key (RFC 8555 §11.1)');
  }
  if (thumbprint !== undefined && (await isAccountKey(thumbprint))) {
    throw problem('badCSR', 'the CSR key is the key of an ACME account; certificates must use a key no account uses (RFC 8555 §11.1)');
  }
  const names = new Set<string>();
  if (!f.extensions) throw problem('badCSR', 'the CSR extensionRequest (subjectAltName, basicConstraints) cannot be parsed');
  // A request for a CA certificate is refused rather than silently issued as a leaf (§7.4: the CA
  // issues what was asked or refuses).
  if (f.extensions.ca) throw problem('badCSR', 'the CSR asks for a CA certificate (basicConstraints cA=TRUE); this CA issues leaf certificates only');
  for (const g of f.extensions.sans) {
    if (!('dns' in g)) throw problem('badCSR', `the CSR requests a ${g.kind} subjectAltName; only DNS names are issued`);
    names.add(csrDnsName(g.dns, 'subjectAltName'));
  }
  if (!f.commonNames) throw problem('badCSR', 'the CSR subject cannot be parsed');
  const cns = f.commonNames.map((cn) => csrDnsName(cn, 'common name'));
  if (cns.length > 1) throw problem('badCSR', 'the CSR has more than one common name');
  const wanted = new Set(orderNames.map(normalizeDnsName));
  // Boulder's rule: a CN, if present, must be one of the names (here: of the order's names).
  for (const cn of cns) {
    if (!wanted.has(cn)) throw problem('badCSR', `the CSR common name ${show(cn)} is not one of the order's names`);
    names.add(cn);
  }
  const missing = [...wanted].filter((n) => !names.has(n));
  const extra = [...names].filter((n) => !wanted.has(n));
  if (missing.length || extra.length) {
    throw problem(
      'badCSR',
      `the CSR must name exactly the order's identifiers (RFC 8555 §7.4)` +
        (missing.length ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length ? `; not in the order: ${extra.join(', ')}` : ''),
    );
  }
  return { der, spki: f.spki, spkiSha256: sha256Hex(f.spki), names: [...wanted].sort() };
}
