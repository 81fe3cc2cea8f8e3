// The ACME core's event hooks (src/acme/context.ts AcmeEvents) that write the audit log: every
// issuance and every revocation through ACME becomes a signed, chained entry. `nixca serve` wires
// them: buildAcmeApp({ …, events: auditAcmeEvents(stateDir) }). The core awaits the hooks, so the
// entry is durable before the response; a failing hook is logged by the core, never fails the
// request (the certificate or revocation is already committed).
import type { AcmeEvents } from '../acme/context.js';
import type { CertificateRecord, RevocationRecord } from '../acme/model.js';
import { appendAudit, type AppendOptions } from './log.js';

/** RFC 5280 §5.3.1 CRLReason names (codes 2, 6, 8, 10 are never used for our leaves). */
const CRL_REASON: Record<number, string> = {
  0: 'unspecified', 1: 'keyCompromise', 2: 'cACompromise', 3: 'affiliationChanged', 4: 'superseded',
  5: 'cessationOfOperation', 6: 'certificateHold', 8: 'removeFromCRL', 9: 'privilegeWithdrawn', 10: 'aACompromise',
};

export function issuedEvent(cert: CertificateRecord) {
  return {
    type: 'certificate.issued' as const,
    subject: cert.serial,
    node: cert.node,
    time: new Date(cert.issuedAt),
    details: {
      serial: cert.serial,
      names: cert.names,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      accountId: cert.accountId,
      orderId: cert.orderId,
      spkiSha256: cert.spkiSha256,
      ...(cert.akiKeyId ? { akiKeyId: cert.akiKeyId } : {}),
    },
  };
}

export function revokedEvent(rev: RevocationRecord, cert: CertificateRecord | undefined) {
  return {
    type: 'certificate.revoked' as const,
    subject: rev.serial,
    node: cert?.node ?? null,
    time: new Date(rev.revokedAt),
    details: { serial: rev.serial, reason: CRL_REASON[rev.reason] ?? `code ${rev.reason}`, reasonCode: rev.reason, by: rev.by, names: cert?.names ?? [] },
  };
}

export function auditAcmeEvents(stateDir: string, opts: AppendOptions = {}): Required<Pick<AcmeEvents, 'certificateIssued' | 'certificateRevoked'>> {
  return {
    async certificateIssued(cert) {
      await appendAudit(stateDir, issuedEvent(cert), opts);
    },
    async certificateRevoked(rev, cert) {
      await appendAudit(stateDir, revokedEvent(rev, cert), opts);
    },
  };
}
