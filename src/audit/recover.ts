// Start-up recovery of the audit trail: a crash (or a failed append) between committing a
// certificate or revocation to the ACME store and writing its audit entry leaves a record without
// an entry. Before the issuer answers, each such record gets its entry, marked as recovered, so
// that afterwards every certificate and revocation in the store has one. Cost: one pass over the
// audit log and one over the ledger (start only).
import type { AcmeStore } from '../acme/store.js';
import { issuedEvent, recoveredEvent, revokedEvent } from './acme-events.js';
import { appendAudit, readAudit, type AuditEvent } from './log.js';

export interface AuditRecovery {
  certificates: string[];
  revocations: string[];
}

/** Serials that have a certificate.issued / certificate.revoked entry (an empty log: none). */
export async function auditedSerials(stateDir: string): Promise<{ issued: Set<string>; revoked: Set<string>; tornBytes: number }> {
  const issued = new Set<string>();
  const revoked = new Set<string>();
  const log = await readAudit(stateDir).catch((err: { code?: string }) => {
    if (err.code === 'AUDIT_NO_LOG') return { records: [], tornBytes: 0 };
    throw err;
  });
  for (const r of log.records) {
    if (r.type === 'certificate.issued') issued.add(r.subject);
    else if (r.type === 'certificate.revoked') revoked.add(r.subject);
  }
  return { issued, revoked, tornBytes: log.tornBytes };
}

/** The recovered entries for the store's records that `isAudited` says have none. */
async function missingEvents(store: AcmeStore, isAudited: { issued(serial: string): boolean; revoked(serial: string): boolean }, now: Date, why: string): Promise<{ events: AuditEvent[]; out: AuditRecovery }> {
  const events: AuditEvent[] = [];
  const out: AuditRecovery = { certificates: [], revocations: [] };
  const certs = new Map((await store.listCertificates()).map((c) => [c.serial, c]));
  for (const c of certs.values()) {
    if (isAudited.issued(c.serial)) continue;
    events.push(recoveredEvent(issuedEvent(c), now, why));
    out.certificates.push(c.serial);
  }
  for (const r of await store.listRevocations()) {
    if (isAudited.revoked(r.serial)) continue;
    events.push(recoveredEvent(revokedEvent(r, certs.get(r.serial)), now, why));
    out.revocations.push(r.serial);
  }
  return { events, out };
}

/** Appends the missing entries (one batch, one fsync); throws if the log refuses (fail closed). */
export async function recoverAuditEntries(stateDir: string, store: AcmeStore, now = new Date()): Promise<AuditRecovery> {
  const { issued, revoked, tornBytes } = await auditedSerials(stateDir);
  const why = 'committed to the ACME store without its audit entry (a crash or a failed append between the two)';
  const { events, out } = await missingEvents(store, { issued: (s) => issued.has(s), revoked: (s) => revoked.has(s) }, now, why);
  if (events.length || tornBytes) {
    // The summary first; a torn tail is cut off and recorded (audit.repaired) by this append.
    await appendAudit(stateDir, [{ type: 'audit.recovered', subject: 'audit', details: { certificates: out.certificates.length, revocations: out.revocations.length }, time: now }, ...events]);
  }
  return out;
}

/**
 * The same for the shared chain (PostgreSQL). There a record and its entry commit in one
 * transaction, so records without an entry exist only if they were committed before the chain
 * existed (schema 3), by a tool that bypassed nixca, or by a CLI revocation whose separate append
 * failed. `missing` are the serials the database found without their entry.
 */
export async function recoverSharedAuditEntries(store: AcmeStore, missing: { certificates: readonly string[]; revocations: readonly string[] }, append: (events: AuditEvent[]) => Promise<unknown>, now = new Date()): Promise<AuditRecovery> {
  if (!missing.certificates.length && !missing.revocations.length) return { certificates: [], revocations: [] };
  const certs = new Set(missing.certificates);
  const revs = new Set(missing.revocations);
  const why = 'in the shared store without its audit entry (committed before the shared audit chain existed, or outside nixca)';
  const { events, out } = await missingEvents(store, { issued: (s) => !certs.has(s), revoked: (s) => !revs.has(s) }, now, why);
  if (events.length) await append([{ type: 'audit.recovered', subject: 'audit', details: { certificates: out.certificates.length, revocations: out.revocations.length }, time: now }, ...events]);
  return out;
}
