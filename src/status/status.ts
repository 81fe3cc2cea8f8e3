// `nixca status` without the network: per node, its names, its newest certificate with days left
// and ARI window, and its signing keys with their states, computed from the inventory and the
// ACME store's certificate records. Pure: the caller reads the stores and passes the clock.
import type { InventoryData, NodeRecord, SigningKeyState } from '../inventory/model.js';
import { isPublished, isSigning, keysForNode } from '../inventory/signing-keys.js';
import { windowForNode } from './ari-window.js';
import { ariStatusByNode, emptyAriPolls, type AriPollData, type NodeAriStatus } from './ari-polls.js';

/** What status needs of an issued certificate (src/acme/model.ts CertificateRecord fits). */
export interface IssuedCertificate {
  serial: string;
  node: string | null;
  names: string[];
  notBefore: string;
  notAfter: string;
  issuedAt: string;
}

export interface RevokedCertificate {
  serial: string;
  /** RFC 5280 §5.3.1 CRLReason code. */
  reason: number;
  revokedAt: string;
}

export type Severity = 'error' | 'warning';

export interface StatusProblem {
  severity: Severity;
  code: string;
  message: string;
}

export interface CertificateView {
  serial: string;
  names: string[];
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  /** Whole and fractional days until notAfter (negative once expired), one decimal. */
  daysLeft: number;
  revoked: { reason: number; revokedAt: string } | null;
  renewalWindow: { start: string; end: string; reason: 'default' | 'renew-now' | 'revoked' };
}

export interface SigningKeyView {
  name: string;
  publicKey: string;
  state: SigningKeyState;
  shared: boolean;
  published: boolean;
  signing: boolean;
}

export interface NodeStatus {
  name: string;
  dnsNames: string[];
  dnsSuffixes: string[];
  renewAfter: string | null;
  certificate: CertificateView | null;
  /** How many certificates were ever issued to the node. */
  issued: number;
  /** Whether the node's ACME client polls renewalInfo (RFC 9773), as the issuer recorded it. */
  ari: Omit<NodeAriStatus, 'node'>;
  signingKeys: SigningKeyView[];
  problems: StatusProblem[];
}

export interface FleetStatus {
  generatedAt: string;
  nodes: NodeStatus[];
  /** Certificates whose node is no longer in the inventory and that are still valid and not revoked. */
  orphanCertificates: { serial: string; node: string | null; names: string[]; notAfter: string }[];
  ok: boolean;
}

const DAY_MS = 86_400_000;

function daysLeft(notAfter: string, now: Date): number {
  return Math.round(((new Date(notAfter).getTime() - now.getTime()) / DAY_MS) * 10) / 10;
}

function certView(node: NodeRecord, c: IssuedCertificate, rev: RevokedCertificate | undefined, now: Date): CertificateView {
  const w = windowForNode(node, c, rev?.revokedAt);
  return {
    serial: c.serial,
    names: c.names,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    issuedAt: c.issuedAt,
    daysLeft: daysLeft(c.notAfter, now),
    revoked: rev ? { reason: rev.reason, revokedAt: rev.revokedAt } : null,
    renewalWindow: { start: w.start.toISOString(), end: w.end.toISOString(), reason: w.reason },
  };
}

export function fleetStatus(input: { inventory: InventoryData; certificates: readonly IssuedCertificate[]; revocations: readonly RevokedCertificate[]; now: Date; ariPolls?: AriPollData }): FleetStatus {
  const { inventory, now } = input;
  const polls = input.ariPolls ?? emptyAriPolls();
  const revoked = new Map(input.revocations.map((r) => [r.serial, r]));
  const byNode = new Map<string, IssuedCertificate[]>();
  for (const c of input.certificates) {
    if (!c.node) continue;
    let l = byNode.get(c.node);
    if (!l) byNode.set(c.node, (l = []));
    l.push(c);
  }
  const nodes = inventory.nodes.map((node): NodeStatus => {
    const certs = (byNode.get(node.name) ?? []).slice().sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.serial.localeCompare(b.serial));
    const newest = certs.at(-1);
    const problems: StatusProblem[] = [];
    const certificate = newest ? certView(node, newest, revoked.get(newest.serial), now) : null;
    if (!certificate) {
      problems.push({ severity: 'warning', code: 'no-certificate', message: 'no certificate issued yet' });
    } else if (certificate.revoked) {
      problems.push({ severity: 'error', code: 'newest-revoked', message: `newest certificate ${certificate.serial} is revoked and has no replacement yet` });
    } else if (new Date(certificate.notAfter) <= now) {
      problems.push({ severity: 'error', code: 'expired', message: `newest certificate ${certificate.serial} expired ${certificate.notAfter}` });
    } else if (new Date(certificate.renewalWindow.end) < now) {
      problems.push({ severity: 'warning', code: 'renewal-overdue', message: `renewal window ended ${certificate.renewalWindow.end} and no newer certificate was issued` });
    }
    const signingKeys = keysForNode(inventory, node.name).map((k) => ({
      name: k.name,
      publicKey: k.publicKey,
      state: k.state,
      shared: k.node === null,
      published: isPublished(k),
      signing: isSigning(k),
    }));
    const [{ node: _n, ...ari }] = ariStatusByNode([node], polls, () => certs.length);
    if (node.renewAfter && ari.ari === 'never' && certificate && !certificate.revoked && Date.parse(certificate.issuedAt) < Date.parse(node.renewAfter)) {
      problems.push({ severity: 'warning', code: 'renew-now-unreachable', message: `renew-now at ${node.renewAfter}, but this node's ACME client never fetched renewalInfo (ARI): it renews on its own schedule; revoke or restart its client to force it` });
    }
    if (!signingKeys.some((k) => k.signing)) problems.push({ severity: 'warning', code: 'no-signing-key', message: noSigningKeyHint(node.name, signingKeys) });
    return {
      name: node.name,
      dnsNames: node.dnsNames,
      dnsSuffixes: node.dnsSuffixes,
      renewAfter: node.renewAfter,
      certificate,
      issued: certs.length,
      ari,
      signingKeys,
      problems,
    };
  });
  const known = new Set(inventory.nodes.map((n) => n.name));
  const orphanCertificates = input.certificates
    .filter((c) => (!c.node || !known.has(c.node)) && new Date(c.notAfter) > now && !revoked.has(c.serial))
    .map((c) => ({ serial: c.serial, node: c.node, names: c.names, notAfter: c.notAfter }));
  return {
    generatedAt: now.toISOString(),
    nodes,
    orphanCertificates,
    ok: nodes.every((n) => n.problems.every((p) => p.severity !== 'error')),
  };
}

/**
 * What to run when a node signs with no key: with nothing published, one step makes a first key
 * active (`key generate --activate`); a published key is promoted by the next rotation step.
 */
export function noSigningKeyHint(node: string, keys: readonly { published: boolean; shared: boolean }[]): string {
  if (!keys.some((k) => k.published && !k.shared)) return `no active signing key (run: nixca key generate ${node} --activate --secret-out FILE)`;
  return `no active signing key (promote the published one: nixca key rotate ${node})`;
}
