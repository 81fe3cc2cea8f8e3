// Root rotation: the current root cross-certifies the new root's key, so relying parties that only
// trust the current root can still build a path to certificates under the new root while the fleet
// moves over (RFC 4158 §2.3 cross-certification; the same technique as Let's Encrypt's ISRG X1/X2).
import { NAME_CONSTRAINTS_OID } from './constraints.js';
import { CaError } from './errors.js';
import { signingAlgorithm } from './keys.js';
import type { IssuerMaterial } from './leaf.js';
import { randomSerial } from './serial.js';
import { authorityKeyIdentifierFor, x509 } from './x509.js';

/**
 * A certificate for `newRoot`'s subject and key, issued by `current`. It repeats the new root's
 * CA profile (pathLen 1, keyCertSign+cRLSign, its name constraints) and SKI, so a chain
 * leaf → intermediate → cross → current root validates, and ends no later than either root.
 */
export async function crossCertify(current: IssuerMaterial, newRoot: x509.X509Certificate, opts: { now?: Date; serial?: string } = {}): Promise<x509.X509Certificate> {
  const nc = newRoot.extensions.find((e) => e.type === NAME_CONSTRAINTS_OID);
  const ski = newRoot.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!nc || !ski) throw new CaError('CA_CHAIN_INVALID', 'the new root lacks name constraints or a subject key identifier');
  const notBefore = opts.now ?? new Date();
  const notAfter = new Date(Math.min(newRoot.notAfter.getTime(), current.certificate.notAfter.getTime()));
  if (!(notBefore < notAfter)) throw new CaError('CA_VALIDITY_INVALID', 'the current root has expired; it can no longer cross-sign');
  return x509.X509CertificateGenerator.create({
    serialNumber: opts.serial ?? randomSerial(),
    subject: newRoot.subjectName,
    issuer: current.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: newRoot.publicKey,
    signingKey: current.privateKey,
    signingAlgorithm: signingAlgorithm(current.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.Extension(NAME_CONSTRAINTS_OID, true, nc.value),
      ski,
      await authorityKeyIdentifierFor(current.certificate),
    ],
  });
}
