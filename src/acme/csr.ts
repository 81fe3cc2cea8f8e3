// Finalize-time CSR checks (RFC 8555 §7.4, §11.1): proof of possession, acceptable key, exactly the
// order's names, never the account key. Failures are badCSR, and leave the order `ready`.
import { createHash, createPublicKey, verify, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
import { base64url, type JWK } from 'jose';
import { x509 } from '../ca/x509.js';
import { normalizeDnsName } from '../inventory/names.js';
import { problem } from './problems.js';

export interface CheckedCsr {
  der: Uint8Array;
  publicKey: x509.PublicKey;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex. */
  spkiSha256: string;
  names: string[];
}

export function spkiSha256(spkiDer: ArrayBuffer | Uint8Array): string {
  return createHash('sha256').update(Buffer.from(spkiDer as ArrayBuffer)).digest('hex');
}

/** SPKI DER of a (validated, public) JWK, for comparing an account or revocation key with a certificate key. */
export function jwkSpki(jwk: JWK): Uint8Array {
  try {
    return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput).export({ format: 'der', type: 'spki' }));
  } catch {
    throw problem('badPublicKey', 'the JWK is not a usable public key');
  }
}

/** Leaf key policy (docs/DESIGN.md): ECDSA P-256/P-384, RSA ≥ 2048, Ed25519. */
function checkLeafKey(spkiDer: ArrayBuffer): KeyObject {
  let ko: KeyObject;
  try {
    ko = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch {
    throw problem('badCSR', 'the CSR public key cannot be parsed');
  }
  const d = ko.asymmetricKeyDetails ?? {};
  switch (ko.asymmetricKeyType) {
    case 'ec':
      if (d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1') return ko;
      throw problem('badCSR', `EC curve ${d.namedCurve} is not accepted (P-256, P-384)`);
    case 'rsa':
      if ((d.modulusLength ?? 0) >= 2048 && (d.modulusLength ?? 0) <= 8192) return ko;
      throw problem('badCSR', `RSA key of ${d.modulusLength} bits is not accepted (2048 to 8192)`);
    case 'ed25519':
      return ko;
    default:
      throw problem('badCSR', `CSR key type ${ko.asymmetricKeyType} is not accepted (ECDSA P-256/P-384, RSA ≥ 2048, Ed25519)`);
  }
}

const SAN_OID = '2.5.29.17';
const HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/**
 * The PKCS#10 signature (RFC 2986 §4.2), verified by node:crypto over the request's original
 * certificationRequestInfo bytes (5× cheaper than a WebCrypto import per request). SHA-1 and
 * unknown algorithms are refused; RSA-PSS falls back to @peculiar/x509's verify.
 */
async function csrSignatureValid(csr: x509.Pkcs10CertificateRequest, key: KeyObject): Promise<boolean> {
  const alg = csr.signatureAlgorithm as Algorithm & { hash?: { name?: string } };
  const hash = alg.hash?.name ? HASHES[alg.hash.name] : undefined;
  // The original certificationRequestInfo bytes (a getter @peculiar/x509 keeps private in its types).
  const raw = (csr as unknown as { tbs?: unknown }).tbs;
  if (!(raw instanceof ArrayBuffer)) return csr.verify().catch(() => false);
  const tbs = Buffer.from(raw);
  const sig = Buffer.from(csr.signature);
  try {
    switch (alg.name) {
      case 'ECDSA':
        if (!hash) throw problem('badCSR', 'the CSR is signed with a weak or unknown hash (SHA-256/384/512 required)');
        return key.asymmetricKeyType === 'ec' && verify(hash, tbs, { key, dsaEncoding: 'der' }, sig);
      case 'RSASSA-PKCS1-v1_5':
        if (!hash) throw problem('badCSR', 'the CSR is signed with a weak or unknown hash (SHA-256/384/512 required)');
        return key.asymmetricKeyType === 'rsa' && verify(hash, tbs, key, sig);
      case 'Ed25519':
        return key.asymmetricKeyType === 'ed25519' && verify(null, tbs, key, sig);
      default:
        return await csr.verify();
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'AcmeProblem') throw err;
    return false;
  }
}

export async function checkCsr(csrB64: unknown, orderNames: readonly string[], accountSpki: Uint8Array): Promise<CheckedCsr> {
  if (typeof csrB64 !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrB64)) throw problem('malformed', '"csr" must be the base64url DER of a PKCS#10 request (RFC 8555 §7.4)');
  const der = base64url.decode(csrB64);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(der));
  } catch {
    throw problem('badCSR', 'the CSR is not a DER PKCS#10 certificate request');
  }
  let spki: ArrayBuffer;
  try {
    spki = csr.publicKey.rawData;
  } catch {
    throw problem('badCSR', 'the CSR public key cannot be parsed');
  }
  const key = checkLeafKey(spki);
  if (!(await csrSignatureValid(csr, key))) throw problem('badCSR', 'the CSR signature does not verify (RFC 2986 proof of possession)');
  // §11.1: an account key must never be certified.
  if (Buffer.compare(Buffer.from(spki), Buffer.from(accountSpki)) === 0) {
    throw problem('badCSR', 'the CSR uses the account key; certificates must use a different key (RFC 8555 §11.1)');
  }
  const names = new Set<string>();
  for (const ext of csr.extensions) {
    if (ext.type !== SAN_OID) continue;
    let san: x509.SubjectAlternativeNameExtension;
    try {
      san = new x509.SubjectAlternativeNameExtension(ext.rawData);
    } catch {
      throw problem('badCSR', 'the CSR subjectAltName extension cannot be parsed');
    }
    for (const g of san.names.items) {
      if (g.type !== 'dns') throw problem('badCSR', `the CSR requests a ${g.type} subjectAltName; only DNS names are issued`);
      names.add(normalizeDnsName(g.value));
    }
  }
  const cns = csr.subjectName.getField('CN').map(normalizeDnsName);
  if (cns.length > 1) throw problem('badCSR', 'the CSR has more than one common name');
  const wanted = new Set(orderNames.map(normalizeDnsName));
  // Boulder's rule: a CN, if present, must be one of the names (here: of the order's names).
  for (const cn of cns) {
    if (!wanted.has(cn)) throw problem('badCSR', `the CSR common name ${JSON.stringify(cn)} is not one of the order's names`);
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
  return { der, publicKey: csr.publicKey, spkiSha256: spkiSha256(spki), names: [...wanted].sort() };
}
