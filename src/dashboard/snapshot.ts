// Reads what the dashboard shows from the running issuer (its inventory, its ACME store, its audit
// log and the CRL it serves) and keeps one snapshot at a time: many viewers polling every few
// seconds cost one read, and the audit chain (every signature) is re-verified only when the log
// grew and not more often than once a minute. Reads only: nothing here writes any store.
import { stat } from 'node:fs/promises';
import { crlNumberOf } from '../ca/crl.js';
import { x509 } from '../ca/x509.js';
import { auditPaths, readAudit } from '../audit/log.js';
import { verifyAudit, type AuditTrust } from '../audit/verify.js';
import type { InventoryData } from '../inventory/model.js';
import type { IssuedCertificate, RevokedCertificate } from '../status/status.js';
import { buildSnapshot, type AriPolling, type AuditSummary, type CrlSummary, type DashboardSnapshot } from './model.js';
import type { ProbeRunner } from './probes.js';

export interface DashboardSources {
  stateDir: string;
  inventory: { read(): Promise<InventoryData> };
  issued(): Promise<{ certificates: IssuedCertificate[]; revocations: RevokedCertificate[] }>;
  /** DER of the CRL being served, or null (none). */
  crl(): Promise<Uint8Array | null>;
  /** Per node: does its client fetch renewalInfo? Absent when the store records no such thing. */
  ari?(): Promise<Record<string, AriPolling>>;
  auditTrust: AuditTrust;
  probes: ProbeRunner | null;
  now(): Date;
}

const AUDIT_RECENT = 50;
const AUDIT_VERIFY_MIN_MS = 60_000;

export function crlSummary(der: Uint8Array): CrlSummary {
  const crl = new x509.X509Crl(new Uint8Array(der));
  return { crlNumber: crlNumberOf(crl), thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, entries: crl.entries.length };
}

export class SnapshotSource {
  #snapshot: { at: number; value: DashboardSnapshot } | null = null;
  #pending: Promise<DashboardSnapshot> | null = null;
  #verified: { size: number; at: number; value: NonNullable<AuditSummary['verification']> } | null = null;
  /** The parsed tail of the log for its size: an append-only log that did not grow did not change. */
  #read: { size: number; recent: AuditSummary['recent']; total: number } | null = null;

  constructor(
    readonly sources: DashboardSources,
    /** A snapshot younger than this is served as is. */
    readonly maxAgeMs = 2000,
  ) {}

  get(): Promise<DashboardSnapshot> {
    const now = this.sources.now().getTime();
    if (this.#snapshot && now - this.#snapshot.at < this.maxAgeMs) return Promise.resolve(this.#snapshot.value);
    this.#pending ??= this.#build().finally(() => (this.#pending = null));
    return this.#pending;
  }

  async #build(): Promise<DashboardSnapshot> {
    const s = this.sources;
    const [inventory, issued, crlDer, ari, audit] = await Promise.all([s.inventory.read(), s.issued(), s.crl(), s.ari?.() ?? Promise.resolve(undefined), this.#audit()]);
    const now = s.now();
    const value = buildSnapshot({ inventory, ...issued, now, probe: s.probes?.latest() ?? null, ari, audit, crl: crlDer ? crlSummary(crlDer) : null });
    this.#snapshot = { at: now.getTime(), value };
    return value;
  }

  async #audit(): Promise<AuditSummary> {
    const dir = this.sources.stateDir;
    let size: number;
    try {
      size = (await stat(auditPaths(dir).log)).size;
    } catch {
      return { recent: [], total: 0, verification: null, error: 'no audit log yet (nothing recorded)' };
    }
    try {
      if (this.#read?.size !== size) {
        const { records } = await readAudit(dir);
        this.#read = { size, total: records.length, recent: records.slice(-AUDIT_RECENT).map(({ seq, time, type, subject, node, details }) => ({ seq, time, type, subject, node, details })) };
      }
      const now = this.sources.now().getTime();
      const v = this.#verified;
      if (!v || (v.size !== size && now - v.at >= AUDIT_VERIFY_MIN_MS)) {
        const r = await verifyAudit(dir, this.sources.auditTrust);
        this.#verified = {
          size,
          at: now,
          value: { ok: r.ok, checkedAt: new Date(now).toISOString(), entries: r.entries, firstBadSeq: r.firstBadSeq, certified: r.signer.certified, explanation: r.signer.explanation, problems: r.problems.slice(0, 10).map((p) => `${p.seq === null ? 'signer' : `seq ${p.seq}`}: ${p.reason}`) },
        };
      }
      return { recent: this.#read.recent, total: this.#read.total, verification: this.#verified!.value, error: null };
    } catch (err) {
      return { recent: [], total: 0, verification: null, error: `audit log unreadable: ${(err as Error).message}` };
    }
  }
}
