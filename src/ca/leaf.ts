// The one entry point that signs end-entity (TLS server) certificates. Policy (which names a
// requester may have) is decided by the caller; this module only builds an RFC 5280 profile.
import { CaError } from './errors.js';
import { signingAlgorithm } from './keys.js';
import { randomSerial } from './serial.js';
import { authorityKeyIdentifierFor, x509 } from './x509.js';

export interface IssuerMaterial {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

export interface LeafRequest {
  /** The subject public key, usually taken from a verified CSR. */
  publicKey: x509.PublicKey | CryptoKey;
  dnsNames: readonly string[];
  notBefore: Date;
  notAfter: Date;
  /** Hex; a fresh 128-bit random serial when omitted. */
  serial?: string;
  /** RFC 5280 §4.2.1.13: only when a CRL is actually served there. */
  crlDistributionPoints?: readonly string[];
}

/** Key usages by key type (RFC 5280 §4.2.1.3; RSA key transport still needs keyEncipherment for TLS 1.2 RSA kx). */
export function leafKeyUsage(publicKeyAlgorithm: string): x509.KeyUsageFlags {
  const flags = x509.KeyUsageFlags.digitalSignature;
  return publicKeyAlgorithm.startsWith('RSA') ? flags | x509.KeyUsageFlags.keyEncipherment : flags;
}

/** What every leaf must satisfy, whichever encoder builds it. */
export function checkLeafRequest(req: { dnsNames: readonly string[]; notBefore: Date; notAfter: Date }, issuerNotAfter: Date): void {
  if (req.dnsNames.length === 0) throw new CaError('CA_NAME_INVALID', 'a leaf needs at least one DNS name');
  if (!(req.notBefore < req.notAfter)) throw new CaError('CA_VALIDITY_INVALID', 'notBefore must be before notAfter');
  if (req.notAfter > issuerNotAfter) {
    throw new CaError('CA_VALIDITY_INVALID', `leaf notAfter ${req.notAfter.toISOString()} is after the issuer's ${issuerNotAfter.toISOString()}`);
  }
}

export async function issueLeaf(issuer: IssuerMaterial, req: LeafRequest): Promise<x509.X509Certificate> {
  checkLeafRequest(req, issuer.certificate.notAfter);
  const publicKey = req.publicKey instanceof x509.PublicKey ? req.publicKey : await x509.PublicKey.create(req.publicKey);
  const keyAlg = publicKey.algorithm.name;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(leafKeyUsage(keyAlg), true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await authorityKeyIdentifierFor(issuer.certificate),
    // RFC 5280 §4.2.1.6: SAN is critical when the subject is empty.
    new x509.SubjectAlternativeNameExtension(req.dnsNames.map((value) => ({ type: 'dns' as const, value })), true),
  ];
  if (req.crlDistributionPoints?.length) {
    extensions.push(new x509.CRLDistributionPointsExtension([...req.crlDistributionPoints]));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: req.serial ?? randomSerial(),
    // CA/B BR §7.1.4.3: the CN is deprecated; identities live in the SAN only.
    subject: '',
    issuer: issuer.certificate.subjectName,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    publicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.privateKey),
    extensions,
  });
}
