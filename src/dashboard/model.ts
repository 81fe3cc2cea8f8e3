// What the dashboard shows, as one JSON-serialisable snapshot: `nixca status --json` (the fleet
// status and, when the server probes, the probe reports) plus the certificate list, the signing-key
// rotation history, the recent audit entries with the chain's verification, and the served CRL.
// Pure: the caller (snapshot.ts) reads the stores; tests build snapshots from plain data.
import type { InventoryData, SigningKeyState } from '../inventory/model.js';
import type { ProbeReport } from '../probe/probe.js';
import { fleetStatus, type FleetStatus, type IssuedCertificate, type RevokedCertificate, type StatusProblem } from '../status/status.js';
import { windowForNode } from '../status/ari-window.js';
import { ariStatusByNode, type AriPollData } from '../status/ari-polls.js';

export type CertificateState = 'valid' | 'expired' | 'revoked';

export interface CertificateRow {
  serial: string;
  node: string | null;
  names: string[];
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  state: CertificateState;
  revokedAt: string | null;
  /** RFC 5280 §5.3.1 reason code, when revoked. */
  reason: number | null;
  renewalWindow: { start: string; end: string };
}

export interface KeyRotationRow {
  name: string;
  node: string | null;
  state: SigningKeyState;
  /** When the key entered each state it went through (first time), from the inventory history. */
  entered: Partial<Record<SigningKeyState, string>>;
}

export interface AuditSummary {
  /** Newest last, at most `limit` entries. */
  recent: { seq: number; time: string; type: string; subject: string; node: string | null; details: Record<string, unknown> }[];
  total: number;
  verification: { ok: boolean; checkedAt: string; entries: number; firstBadSeq: number | null; certified: boolean; explanation: string; problems: string[] } | null;
  /** Why there is nothing to show (no log yet, unreadable). */
  error: string | null;
}

export interface CrlSummary {
  crlNumber: number | null;
  thisUpdate: string;
  nextUpdate: string | null;
  entries: number;
}

/** Whether a node's ACME client fetches renewalInfo (RFC 9773); null: no certificate to ask about yet. */
export type AriPolling = { polls: boolean; lastFetchedAt: string | null } | null;

/** The ARI column from the issuer's fetch record (the same rule as `status`). */
export function ariPollingByNode(nodes: readonly { name: string }[], polls: AriPollData, certificates: readonly { node: string | null }[]): Record<string, AriPolling> {
  const count = (node: string) => certificates.filter((c) => c.node === node).length;
  const out: Record<string, AriPolling> = {};
  for (const a of ariStatusByNode(nodes, polls, count)) out[a.node] = a.ari === 'no-certificates' ? null : { polls: a.ari === 'polling', lastFetchedAt: a.lastPolledAt };
  return out;
}

export interface DashboardSnapshot extends FleetStatus {
  /** Error-level problems from status and probes; like `status --json`. */
  ok: boolean;
  /** The server's last probe of each node (`status --probe`), null when probing is off. */
  probe: ProbeReport[] | null;
  probedAt: string | null;
  ari: Record<string, AriPolling>;
  /**
   * Certificates still of interest, newest first: valid ones, and expired or revoked ones whose
   * notAfter is at most CERTIFICATE_HISTORY_MS ago; at most MAX_CERTIFICATES (the page polls this).
   */
  certificates: CertificateRow[];
  /** How many issued certificates the list above leaves out. */
  certificatesOmitted: number;
  keyRotation: KeyRotationRow[];
  audit: AuditSummary;
  crl: CrlSummary | null;
}

export interface SnapshotInput {
  inventory: InventoryData;
  certificates: readonly IssuedCertificate[];
  revocations: readonly RevokedCertificate[];
  now: Date;
  probe: { at: Date; reports: ProbeReport[] } | null;
  ari?: Record<string, AriPolling>;
  audit: AuditSummary;
  crl: CrlSummary | null;
}

export const CERTIFICATE_HISTORY_MS = 14 * 86_400_000;
export const MAX_CERTIFICATES = 2000;

function certificateRows(input: SnapshotInput): CertificateRow[] {
  const since = input.now.getTime() - CERTIFICATE_HISTORY_MS;
  const revoked = new Map(input.revocations.map((r) => [r.serial, r]));
  const nodes = new Map(input.inventory.nodes.map((n) => [n.name, n]));
  return input.certificates
    .filter((c) => Date.parse(c.notAfter) > since)
    .map((c): CertificateRow => {
      const r = revoked.get(c.serial);
      const w = windowForNode(c.node ? (nodes.get(c.node) ?? { name: c.node, renewAfter: null }) : null, c, r?.revokedAt);
      const state: CertificateState = r ? 'revoked' : new Date(c.notAfter) <= input.now ? 'expired' : 'valid';
      return { ...c, names: [...c.names], state, revokedAt: r?.revokedAt ?? null, reason: r?.reason ?? null, renewalWindow: { start: w.start.toISOString(), end: w.end.toISOString() } };
    })
    .sort((a, b) => b.issuedAt.localeCompare(a.issuedAt) || a.serial.localeCompare(b.serial))
    .slice(0, MAX_CERTIFICATES);
}

function keyRotation(inv: InventoryData): KeyRotationRow[] {
  return inv.signingKeys.map((k) => {
    const entered: KeyRotationRow['entered'] = {};
    for (const t of k.history) if (!entered[t.to]) entered[t.to] = t.at;
    return { name: k.name, node: k.node, state: k.state, entered };
  });
}

export function buildSnapshot(input: SnapshotInput): DashboardSnapshot {
  const fleet = fleetStatus(input);
  const probe = input.probe?.reports ?? null;
  const hasError = (ps: readonly StatusProblem[]) => ps.some((p) => p.severity === 'error');
  const ok = fleet.ok && (probe ?? []).every((p) => !hasError(p.problems));
  const ari: Record<string, AriPolling> = {};
  for (const n of input.inventory.nodes) ari[n.name] = input.ari?.[n.name] ?? null;
  const certificates = certificateRows(input);
  return {
    ...fleet,
    ok,
    probe,
    probedAt: input.probe?.at.toISOString() ?? null,
    ari,
    certificates,
    certificatesOmitted: input.certificates.length - certificates.length,
    keyRotation: keyRotation(input.inventory),
    audit: input.audit,
    crl: input.crl,
  };
}

/** A node's worst problem level across status and its probe: 2 error, 1 warning, 0 none. */
export function nodeSeverity(s: DashboardSnapshot, node: string): number {
  const ps = [...(s.nodes.find((n) => n.name === node)?.problems ?? []), ...(s.probe?.find((p) => p.node === node)?.problems ?? [])];
  return ps.some((p) => p.severity === 'error') ? 2 : ps.length ? 1 : 0;
}

/** Nodes with problems first (errors, then warnings), then by name. */
export function nodesProblemsFirst(s: DashboardSnapshot): DashboardSnapshot['nodes'] {
  const sev = new Map(s.nodes.map((n) => [n.name, nodeSeverity(s, n.name)]));
  return [...s.nodes].sort((a, b) => sev.get(b.name)! - sev.get(a.name)! || a.name.localeCompare(b.name));
}
