// The ACME core's event hooks (src/acme/context.ts AcmeEvents) that write the audit log: every
// issuance and every revocation through ACME becomes a signed, chained entry. `nixca serve` wires
// them: buildAcmeApp({ …, events: auditAcmeEvents(stateDir) }). The core awaits the hooks, so the
// entry is durable before the response; a failing hook is logged by the core, never fails the
// request (the certificate or revocation is already committed).
import type { AcmeEvents } from '../acme/context.js';
import type { CertificateRecord, RevocationRecord } from '../acme/model.js';
import { x509 } from '../ca/x509.js';
import { appendAudit, type AppendOptions } from './log.js';

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
    // RFC 5280 §5.3.1 CRLReason names, as src/ca/inspect.ts shows them.
    details: { serial: rev.serial, reason: (x509.X509CrlReason[rev.reason] as string | undefined) ?? `code ${rev.reason}`, reasonCode: rev.reason, by: rev.by, names: cert?.names ?? [] },
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
