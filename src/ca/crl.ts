// Root-signed CRLs listing revoked intermediates (RFC 5280 §5): CRL number, AKI, nextUpdate.
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { CaError } from './errors.js';
import { signingAlgorithm } from './keys.js';
import type { IssuerMaterial } from './leaf.js';
import { authorityKeyIdentifierFor, x509 } from './x509.js';

export const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
export type CrlReason = (typeof CRL_REASONS)[number];

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
  reason?: CrlReason;
}

export interface CrlOptions {
  /** RFC 5280 §5.2.3: monotonically increasing. */
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly RevokedEntry[];
}

export function crlNumberOf(crl: x509.X509Crl): number | null {
  const ext = crl.extensions.find((e) => e.type === id_ce_cRLNumber);
  return ext ? AsnConvert.parse(ext.value, CRLNumber).value : null;
}

export async function createCrl(issuer: IssuerMaterial, opts: CrlOptions): Promise<x509.X509Crl> {
  if (!Number.isSafeInteger(opts.crlNumber) || opts.crlNumber < 1) throw new CaError('CA_VALIDITY_INVALID', `CRL number must be a positive integer, got ${opts.crlNumber}`);
  if (!(opts.thisUpdate < opts.nextUpdate)) throw new CaError('CA_VALIDITY_INVALID', 'nextUpdate must be after thisUpdate');
  return x509.X509CrlGenerator.create({
    issuer: issuer.certificate.subjectName,
    thisUpdate: opts.thisUpdate,
    // §5.1.2.5: conforming CAs MUST include nextUpdate.
    nextUpdate: opts.nextUpdate,
    signingKey: issuer.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.privateKey),
    extensions: [
      // §5.2.1 (AKI, MUST) and §5.2.3 (cRLNumber, MUST), both non-critical.
      await authorityKeyIdentifierFor(issuer.certificate),
      new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(opts.crlNumber))),
    ],
    entries: opts.entries.map((e) => ({
      serialNumber: e.serial,
      revocationDate: e.revokedAt,
      // §5.3.1: omit reasonCode rather than use unspecified.
      reason: e.reason && e.reason !== 'unspecified' ? x509.X509CrlReason[e.reason] : undefined,
    })),
  });
}

/** RFC 7468 §5: the PEM label of a CRL is "X509 CRL" (OpenSSL reads no other); @peculiar/x509 writes "CRL". */
export function crlToPem(crl: x509.X509Crl): string {
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL') + '\n';
}
