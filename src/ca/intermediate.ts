// The issuing CA's intermediate: its key and CSR are made on the online machine (the key never
// leaves it); the root signs the CSR during an offline ceremony with the profile decided HERE, not
// by the CSR.
import { dnsSubtreesWithin, nameConstraintsExtension, nameConstraintsOf, NAME_CONSTRAINTS_OID } from './constraints.js';
import { CaError } from './errors.js';
import { generateKeyPair, signingAlgorithm, type KeyAlgorithm } from './keys.js';
import type { IssuerMaterial } from './leaf.js';
import { commonNameDn, DAY_MS, permittedSubtrees, validityDaysOrThrow } from './root.js';
import { normalizeSerial, randomSerial } from './serial.js';
import { authorityKeyIdentifierFor, x509 } from './x509.js';

export async function createIntermediateRequest(opts: { commonName: string; keyAlgorithm?: KeyAlgorithm }): Promise<{ csr: x509.Pkcs10CertificateRequest; keys: CryptoKeyPair }> {
  const name = commonNameDn(opts.commonName);
  const keys = await generateKeyPair(opts.keyAlgorithm ?? 'ECDSA-P256');
  // No requested extensions: the root decides basicConstraints, keyUsage and name constraints.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: signingAlgorithm(keys.privateKey) });
  return { csr, keys };
}

/** Parses a PEM or DER CSR; anything unreadable is CA_CSR_INVALID. */
export function parseCsr(data: string | Uint8Array): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(typeof data === 'string' ? data : Buffer.from(data));
  } catch (err) {
    throw new CaError('CA_CSR_INVALID', `not a PKCS#10 certificate request: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Requested extensions (PKCS#9 extensionRequest) a CSR may not carry into `root sign-intermediate`:
 * they would decide the CA's profile, which is the root's decision. A CSR that "asks for CA:true"
 * (or CA:false, a pathLen, key usages, or its own name constraints) is refused rather than
 * silently overridden, so the operator notices that the request was not made by `nixca issuer init`.
 */
const PROFILE_EXTENSIONS: Record<string, string> = {
  '2.5.29.19': 'basicConstraints',
  '2.5.29.15': 'keyUsage',
  '2.5.29.37': 'extKeyUsage',
  [NAME_CONSTRAINTS_OID]: 'nameConstraints',
  '2.5.29.36': 'policyConstraints',
  '2.5.29.54': 'inhibitAnyPolicy',
};

/** Public keys an intermediate may have (docs/DESIGN.md: ECDSA P-256/P-384; RSA ≥ 2048 and Ed25519 tolerated). */
function checkIntermediateKey(key: x509.PublicKey): void {
  const a = key.algorithm as Algorithm & { namedCurve?: string; modulusLength?: number };
  if (a.name === 'ECDSA' && (a.namedCurve === 'P-256' || a.namedCurve === 'P-384' || a.namedCurve === 'P-521')) return;
  if (a.name === 'Ed25519') return;
  if (a.name === 'RSASSA-PKCS1-v1_5' || a.name === 'RSA-PSS') {
    if ((a.modulusLength ?? 0) < 2048) throw new CaError('CA_KEY_WEAK', `RSA key of ${a.modulusLength} bits; at least 2048 are required`);
    return;
  }
  throw new CaError('CA_KEY_UNSUPPORTED', `unsupported public key algorithm ${a.name}${a.namedCurve ? ' ' + a.namedCurve : ''}`);
}

/** Checks a CSR for `signIntermediate`: signature (PKCS#10 proof of possession), subject, key, requested extensions. */
export async function checkIntermediateCsr(csr: x509.Pkcs10CertificateRequest): Promise<void> {
  let ok: boolean;
  try {
    ok = await csr.verify();
  } catch (err) {
    throw new CaError('CA_CSR_INVALID', `cannot verify the CSR signature: ${(err as Error).message}`, { cause: err });
  }
  // RFC 2986 §3: the signature proves the requester holds the private key of the subject key.
  if (!ok) throw new CaError('CA_CSR_SIGNATURE_INVALID', 'the CSR signature does not verify (damaged or forged request)');
  let key: x509.PublicKey;
  try {
    key = csr.publicKey;
    await key.export();
  } catch (err) {
    throw new CaError('CA_KEY_UNSUPPORTED', `unsupported CSR public key: ${(err as Error).message}`, { cause: err });
  }
  checkIntermediateKey(key);
  if (!csr.subject.trim()) throw new CaError('CA_CSR_INVALID', 'the CSR subject is empty; a CA needs a name (RFC 5280 §4.1.2.6)');
  for (const ext of csr.extensions) {
    const what = PROFILE_EXTENSIONS[ext.type];
    if (!what) continue;
    if (ext.type === '2.5.29.19') {
      const bc = new x509.BasicConstraintsExtension(ext.rawData);
      throw new CaError(
        'CA_CSR_REQUESTS_CA',
        `the CSR requests basicConstraints CA:${bc.ca ? 'TRUE' : 'FALSE'}${bc.pathLength !== undefined ? ', pathlen:' + bc.pathLength : ''}; the root decides the intermediate's profile (CA:TRUE, pathlen:0) — make the CSR without extensions (nixca issuer init)`,
      );
    }
    throw new CaError('CA_CSR_REQUESTS_CA', `the CSR requests its own ${what} extension; the root decides the intermediate's profile — make the CSR without extensions (nixca issuer init)`);
  }
}

export interface SignIntermediateOptions {
  /** Default 365. Must end before the root does. */
  validityDays?: number;
  /** Default: the root's permitted subtrees; must be equal or narrower. */
  permittedDns?: readonly string[];
  now?: Date;
  /** Hex; default a fresh 128-bit random serial. */
  serial?: string;
}

export async function signIntermediate(root: IssuerMaterial, csr: x509.Pkcs10CertificateRequest, opts: SignIntermediateOptions = {}): Promise<x509.X509Certificate> {
  await checkIntermediateCsr(csr);
  const rootNc = nameConstraintsOf(root.certificate);
  const rootPermitted = rootNc && rootNc.permittedDns.length ? rootNc.permittedDns : null;
  let permittedDns: string[];
  if (opts.permittedDns && opts.permittedDns.length) {
    permittedDns = permittedSubtrees(opts.permittedDns);
    if (rootPermitted && !dnsSubtreesWithin(permittedDns, rootPermitted)) {
      const wider = permittedDns.filter((p) => !dnsSubtreesWithin([p], rootPermitted));
      throw new CaError('CA_NAME_NOT_PERMITTED', `permitted DNS subtree ${wider.join(', ')} is outside the root's (${rootPermitted.join(', ')}); an intermediate's constraints must be equal or narrower`);
    }
  } else {
    if (!rootPermitted) throw new CaError('CA_NAME_INVALID', 'the root has no permitted DNS subtrees; give the intermediate its own');
    permittedDns = rootPermitted;
  }
  const days = validityDaysOrThrow(opts.validityDays ?? 365, 'intermediate');
  const notBefore = opts.now ?? new Date();
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  if (notAfter > root.certificate.notAfter) {
    throw new CaError('CA_VALIDITY_INVALID', `the intermediate would end ${notAfter.toISOString()}, after the root (${root.certificate.notAfter.toISOString()}); shorten --validity or rotate the root`);
  }
  if (notBefore < root.certificate.notBefore) throw new CaError('CA_VALIDITY_INVALID', 'the root is not valid yet (check the clock of the ceremony machine)');
  const serial = opts.serial === undefined ? randomSerial() : normalizeSerial(opts.serial);
  if (!serial) throw new CaError('CA_NAME_INVALID', `not a hex serial: ${JSON.stringify(opts.serial)}`);
  return x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: csr.subjectName,
    issuer: root.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: csr.publicKey,
    signingKey: root.privateKey,
    signingAlgorithm: signingAlgorithm(root.privateKey),
    extensions: [
      // RFC 5280 §4.2.1.9: pathLen 0, the intermediate signs only end-entity certificates.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      // Constraints are repeated on the intermediate (defence in depth; some verifiers only look
      // at the issuing CA). The root's excluded subtrees (all IPs unless --allow-ip) carry over.
      nameConstraintsExtension({ permittedDns, excludedDns: rootNc?.excludedDns, excludedIp: rootNc?.excludedIp }),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      await authorityKeyIdentifierFor(root.certificate),
    ],
  });
}
