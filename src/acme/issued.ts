// The certificate a signer returned, checked against what finalize decided (RFC 8555 §7.4: the CA
// issues what was decided or nothing): names, key and validity; and the issuer key id ARI needs.
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, Certificate, id_ce_authorityKeyIdentifier } from '@peculiar/asn1-x509';
import { sha256Hex } from '../ca/inspect.js';
import { problem } from './problems.js';

/**
 * The issued certificate must be exactly what was decided (§7.4: never something else): the
 * names, the CSR's key and the promised validity. Returns the issuer key id (AKI) for ARI.
 */
export function checkIssued(
  issued: { certificatePem: string; notBefore: Date; notAfter: Date; akiKeyId?: string; encodedFromRequest?: boolean },
  want: { names: readonly string[]; spkiSha256: string; notBefore: Date; notAfter: Date },
): { akiKeyId?: string } {
  if (issued.encodedFromRequest && issued.akiKeyId) {
    if (issued.notBefore.getTime() !== want.notBefore.getTime() || issued.notAfter.getTime() !== want.notAfter.getTime()) {
      throw problem('serverInternal', 'the signer returned a certificate other than the one decided (validity); nothing was issued');
    }
    return { akiKeyId: issued.akiKeyId };
  }
  // node:crypto's native parser: ~10× cheaper than building @peculiar/x509 extension objects.
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(issued.certificatePem);
  } catch {
    throw problem('serverInternal', 'the signer returned an unreadable certificate; nothing was issued');
  }
  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  const names = sans.map((n) => (n.startsWith('DNS:') ? n.slice(4).toLowerCase() : '\u0000' + n)).sort();
  const differs =
    Date.parse(cert.validFrom) !== want.notBefore.getTime() ||
    Date.parse(cert.validTo) !== want.notAfter.getTime() ||
    names.join(',') !== [...want.names].sort().join(',') ||
    sha256Hex(cert.publicKey.export({ format: 'der', type: 'spki' })) !== want.spkiSha256;
  if (differs) throw problem('serverInternal', 'the signer returned a certificate other than the one decided (names, key or validity); nothing was issued');
  // RFC 9773 §4.1 (ARI) identifies certificates by the AKI keyIdentifier: keep it with the record.
  if (issued.akiKeyId) return { akiKeyId: issued.akiKeyId };
  const ext = AsnConvert.parse(cert.raw, Certificate).tbsCertificate.extensions?.find((e) => e.extnID === id_ce_authorityKeyIdentifier);
  const keyId = ext ? AsnConvert.parse(ext.extnValue.buffer, AuthorityKeyIdentifier).keyIdentifier : undefined;
  return keyId ? { akiKeyId: Buffer.from(keyId.buffer).toString('hex') } : {};
}
