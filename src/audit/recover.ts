// Start-up recovery of the audit trail: a crash (or a failed append) between committing a
// certificate or revocation to the ACME store and writing its audit entry leaves a record without
// an entry. Before the issuer answers, each such record gets its entry, marked as recovered, so
// that afterwards every certificate and revocation in the store has one. Cost: one pass over the
// audit log and one over the ledger (start only).
import { createReadStream } from 'node:fs';
import type { AcmeStore } from '../acme/store.js';
import { issuedEvent, recoveredEvent, revokedEvent } from './acme-events.js';
import { appendAudit, auditPaths, parseEntryLine, type AuditEvent } from './log.js';

export interface AuditRecovery {
  certificates: string[];
  revocations: string[];
}

/**
 * Serials that have a certificate.issued / certificate.revoked entry (an empty log: none), and the
 * bytes of a torn last line. The log is read a chunk at a time and only the serials are kept: read
 * whole and parsed into records (as `audit show` does), a log of 50,000 certificates held ~140 MB
 * at start for sets of a few MB. Lines are those `readAudit` parses: damaged ones are skipped.
 */
export async function auditedSerials(stateDir: string): Promise<{ issued: Set<string>; revoked: Set<string>; tornBytes: number }> {
  const issued = new Set<string>();
  const revoked = new Set<string>();
  const onLine = (line: Buffer) => {
    const e = line.length ? parseEntryLine(line.toString('utf8')) : null;
    if (!e) return;
    const subject = (e.data as { subject?: unknown }).subject;
    if (e.event === 'certificate.issued') issued.add(typeof subject === 'string' ? subject : '');
    else if (e.event === 'certificate.revoked') revoked.add(typeof subject === 'string' ? subject : '');
  };
  let carry = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(auditPaths(stateDir).log) as AsyncIterable<Buffer>) {
      // A newline byte never occurs inside a multi-byte UTF-8 sequence: splitting bytes is safe.
      let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let nl: number;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        onLine(buf.subarray(0, nl));
        buf = buf.subarray(nl + 1);
      }
      carry = Buffer.from(buf);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { issued, revoked, tornBytes: 0 };
    throw err;
  }
  return { issued, revoked, tornBytes: carry.length };
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
