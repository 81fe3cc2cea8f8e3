// The ACME core's audit trail (src/acme/context.ts AuditTrail): every issuance and every
// revocation through ACME becomes a signed, chained entry as part of its commit. The store calls
// the trail after the record is durable and before it is visible; if the append fails, the request
// fails (serverInternal) and the record stays invisible until the next start, whose recovery
// (src/audit/recover.ts) writes its entry marked as recovered. /health reports 503 while appends
// fail: its check first retries the entries that failed (marked recovered), then proves an append
// would work (lock, key, newest entry, write permission).
import type { AuditTrail } from '../acme/context.js';
import type { CertificateRecord, RevocationRecord } from '../acme/model.js';
import { x509 } from '../ca/x509.js';
import { appendAudit, checkAuditAppendable, type AppendOptions, type AuditEvent } from './log.js';

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

/** The same event, marked as written after the fact (its record was committed before its entry). */
export function recoveredEvent(e: AuditEvent, at: Date, why: string): AuditEvent {
  return { ...e, details: { ...e.details, recovered: true, recoveredAt: at.toISOString(), recoveredBecause: why } };
}

export function auditTrail(stateDir: string, opts: AppendOptions = {}): AuditTrail {
  const now = opts.now ?? (() => new Date());
  /** Entries of committed-but-withheld records whose append failed, oldest first. */
  let failed: AuditEvent[] = [];
  let lastError: Error | undefined;
  /**
   * Appends `events` after the entries still waiting (marked recovered), so that the first append
   * that works again writes them, whether a request or a /health check makes it. The waiting ones
   * are taken out for the attempt (a concurrent append does not write them twice) and put back,
   * oldest first, if it fails.
   */
  /** Appends under way (a failing one has taken the waiting entries out of `failed` meanwhile). */
  const inFlight = new Set<Promise<unknown>>();
  const appendWithWaiting = async (events: AuditEvent[]) => {
    const waiting = failed;
    failed = [];
    const why = `the first append failed: ${lastError?.message ?? 'unknown'}`;
    const attempt = appendAudit(stateDir, [...waiting.map((e) => recoveredEvent(e, now(), why)), ...events], opts);
    inFlight.add(attempt);
    try {
      await attempt;
    } catch (err) {
      failed = [...waiting, ...failed, ...events];
      lastError = err as Error;
      throw err;
    } finally {
      inFlight.delete(attempt);
    }
    if (failed.length === 0) lastError = undefined;
  };
  return {
    certificateIssued: (cert) => appendWithWaiting([issuedEvent(cert)]),
    certificateRevoked: (rev, cert) => appendWithWaiting([revokedEvent(rev, cert)]),
    ready: async () => {
      // While the log refuses entries, an append under way holds the waiting ones: its result
      // decides. (Healthy, nothing is awaited: group commit keeps an append under way most of the time.)
      if (lastError) await Promise.allSettled([...inFlight]);
      if (failed.length) await appendWithWaiting([]);
    },
    async check() {
      if (failed.length) {
        const count = failed.length;
        try {
          await appendWithWaiting([]);
        } catch (err) {
          throw new Error(`audit entries cannot be appended (${count} waiting): ${(err as Error).message}`, { cause: err });
        }
      }
      await checkAuditAppendable(stateDir);
    },
  };
}

/** Where a transactional store's audit entries go (src/store/pg/audit.ts PgAuditChain). */
export interface AuditSink {
  append(events: readonly AuditEvent[]): Promise<unknown>;
  check(): Promise<void>;
}

/**
 * The trail on a store that appends the entry inside the transaction of the record (PostgreSQL):
 * a failed append rolls the record back with it, so there is nothing withheld to retry later.
 */
export function transactionalAuditTrail(sink: AuditSink): AuditTrail {
  return {
    certificateIssued: async (cert) => void (await sink.append([issuedEvent(cert)])),
    certificateRevoked: async (rev, cert) => void (await sink.append([revokedEvent(rev, cert)])),
    // A failed append rolled its record back: nothing waits.
    ready: async () => undefined,
    check: () => sink.check(),
  };
}
