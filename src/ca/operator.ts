// Operator certificates: short-lived TLS client certificates from the intermediate that let a
// person read the dashboard on a non-loopback listener. The profile is deliberately unlike an ACME
// leaf (src/ca/leaf.ts): extKeyUsage is clientAuth only (RFC 5280 §4.2.1.12), no subjectAltName
// (an operator is not a host, so no DNS name a TLS client could be fooled with), and the subject
// carries the operator's name under a fixed organizational unit, which is what the dashboard
// recognises. `isOperatorCertificate` is the one place that decides what counts as one.
import { CaError } from './errors.js';
import { signingAlgorithm } from './keys.js';
import { randomSerial } from './serial.js';
import { authorityKeyIdentifierFor, x509 } from './x509.js';
import type { IssuerMaterial } from './leaf.js';

/** The subject OU every operator certificate has (and no ACME leaf has: their subject is empty). */
export const OPERATOR_OU = 'nixca dashboard operators';
/** Longest lifetime `nixca operator cert` issues: short-lived instead of revocation checking. */
export const OPERATOR_MAX_LIFETIME_MS = 7 * 86_400_000;

// One label without dots: OpenSSL checks a dotted CN against DNS name constraints when there is
// no SAN, which would make the intermediate's permitted subtrees refuse an operator "alice.ops".
const OPERATOR_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isValidOperatorName(name: string): boolean {
  return OPERATOR_NAME.test(name);
}

export interface OperatorRequest {
  name: string;
  publicKey: CryptoKey | x509.PublicKey;
  notBefore: Date;
  notAfter: Date;
}

export async function issueOperatorCertificate(issuer: IssuerMaterial, req: OperatorRequest): Promise<x509.X509Certificate> {
  if (!isValidOperatorName(req.name)) {
    throw new CaError('CA_NAME_INVALID', `operator name ${JSON.stringify(req.name)} must be lowercase letters, digits, '-' or '_' (no dots), at most 63 characters`);
  }
  if (!(req.notBefore < req.notAfter)) throw new CaError('CA_VALIDITY_INVALID', 'notBefore must be before notAfter');
  if (req.notAfter.getTime() - req.notBefore.getTime() > OPERATOR_MAX_LIFETIME_MS + 10 * 60_000) {
    throw new CaError('CA_VALIDITY_INVALID', 'an operator certificate lives at most 7 days');
  }
  if (req.notAfter > issuer.certificate.notAfter) {
    throw new CaError('CA_VALIDITY_INVALID', `operator certificate notAfter ${req.notAfter.toISOString()} is after the intermediate's ${issuer.certificate.notAfter.toISOString()}`);
  }
  const publicKey = req.publicKey instanceof x509.PublicKey ? req.publicKey : await x509.PublicKey.create(req.publicKey);
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ OU: [OPERATOR_OU] }, { CN: [req.name] }],
    issuer: issuer.certificate.subjectName,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    publicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await authorityKeyIdentifierFor(issuer.certificate),
    ],
  });
}

export type OperatorVerdict = { ok: true; name: string; serial: string; notAfter: Date } | { ok: false; reason: string };

/**
 * Is `cert` an operator certificate of `issuer` valid at `now`? The TLS stack has already checked
 * the chain; this checks the profile, so that an ACME leaf (serverAuth) or any other certificate
 * from the same intermediate is refused, and re-checks the signature against this intermediate.
 */
export async function isOperatorCertificate(cert: x509.X509Certificate, issuer: x509.X509Certificate, now: Date): Promise<OperatorVerdict> {
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const usages = (eku?.usages ?? []).map(String);
  if (usages.length !== 1 || usages[0] !== x509.ExtendedKeyUsage.clientAuth) return { ok: false, reason: 'extKeyUsage is not exactly clientAuth' };
  if (cert.getExtension(x509.SubjectAlternativeNameExtension)) return { ok: false, reason: 'has a subjectAltName (operator certificates name no host)' };
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca) return { ok: false, reason: 'is a CA certificate' };
  const ou = cert.subjectName.getField('OU');
  const cn = cert.subjectName.getField('CN');
  if (ou.length !== 1 || ou[0] !== OPERATOR_OU || cn.length !== 1 || !isValidOperatorName(cn[0]!)) return { ok: false, reason: 'subject is not an operator subject' };
  if (cert.issuer !== issuer.subject) return { ok: false, reason: 'not issued by this intermediate' };
  if (!(await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }))) return { ok: false, reason: 'signature does not verify with this intermediate' };
  if (now < cert.notBefore || now >= cert.notAfter) return { ok: false, reason: 'not valid now' };
  return { ok: true, name: cn[0]!, serial: cert.serialNumber.toLowerCase(), notAfter: cert.notAfter };
}
