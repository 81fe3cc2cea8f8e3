// Inventory operations (nodes, EAB credentials, renew-now). Each is audited before the inventory is
// written (a refused audit entry changes nothing); accounts follow their node's identity.
import { addNode, ensureEab, getNode, removeNode, type NewNode } from '../inventory/inventory.js';
import type { EabCredential, NodeRecord } from '../inventory/model.js';
import { deactivateAccountsAudited } from './accounts.js';
import { writableStore } from './revoke.js';
import { OpsError, type OpResult, type OpsDeps } from './types.js';

/** A node as operations answer it: everything but the EAB MAC key. */
export function publicNodeView(n: NodeRecord) {
  return {
    name: n.name,
    id: n.id ?? null,
    dnsNames: n.dnsNames,
    dnsSuffixes: n.dnsSuffixes,
    site: n.site,
    priority: n.priority,
    createdAt: n.createdAt,
    eabKeyId: n.eab?.keyId ?? null,
    renewAfter: n.renewAfter,
  };
}
export type PublicNode = ReturnType<typeof publicNodeView>;

function result<T>(deps: OpsDeps, op: OpResult['op'], summary: string, data: T, warnings: string[] = []): OpResult<T> {
  return { op, appliedBy: deps.appliedBy, summary, warnings, data };
}

/**
 * Refuses names no certificate of this issuer could carry (RFC 5280 §4.2.1.10): the node would
 * fail at every finalize, and its name would reach the emitted substituters.
 */
async function checkConstraints(deps: OpsDeps, node: NodeRecord): Promise<void> {
  const names = [...node.dnsNames, ...node.dnsSuffixes.map((s) => '*.' + s)];
  const refused = (await deps.refusedNames?.(names)) ?? [];
  if (!refused.length) return;
  const what = refused.map((r) => `${r.name.startsWith('*.') ? `DNS suffix ${r.name.slice(2)}` : r.name} is ${r.reason}`).join('; ');
  throw new OpsError('policy', `node ${node.name}: ${what}; the issuer could never certify it (choose names within the constraints, or widen them in a new ceremony)`);
}

export async function nodeAdd(deps: OpsDeps, input: NewNode): Promise<OpResult<PublicNode>> {
  const now = deps.now();
  const n = await deps.inventory.update(async (d) => {
    const added = addNode(d, input, now);
    await checkConstraints(deps, added);
    await deps.audit([{ type: 'node.added', subject: added.name, node: added.name, details: { id: added.id, dnsNames: added.dnsNames, dnsSuffixes: added.dnsSuffixes, site: added.site, priority: added.priority }, time: now }]);
    return added;
  });
  return result(deps, 'node.add', `added node ${n.name}`, publicNodeView(n));
}

export async function nodeUpdate(deps: OpsDeps, name: string, change: { site?: string | null; priority?: number }): Promise<OpResult<PublicNode>> {
  if (change.site === undefined && change.priority === undefined) throw new OpsError('usage', 'nothing to change: give --site or --priority');
  if (change.priority !== undefined && (!Number.isInteger(change.priority) || change.priority < 0 || change.priority > 10000)) throw new OpsError('input', 'priority must be an integer from 0 to 10000');
  if (change.site != null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(change.site)) throw new OpsError('input', `site ${JSON.stringify(change.site)} must be letters, digits, '.', '_' or '-'`);
  const now = deps.now();
  const n = await deps.inventory.update(async (d) => {
    const node = getNode(d, name);
    if (change.site !== undefined) node.site = change.site;
    if (change.priority !== undefined) node.priority = change.priority;
    await deps.audit([{ type: 'node.updated', subject: node.name, node: node.name, details: { ...change }, time: now }]);
    return node;
  });
  return result(deps, 'node.update', `updated node ${n.name}`, publicNodeView(n));
}

/** Removes the node and deactivates its accounts: a node added again later never revives them. */
export async function nodeRemove(deps: OpsDeps, name: string): Promise<OpResult<PublicNode & { deactivatedAccounts: string[] }>> {
  const store = deps.store ? writableStore(deps, 'store') : null;
  const now = deps.now();
  const n = await deps.inventory.update(async (d) => {
    const removed = removeNode(d, name);
    await deps.audit([{ type: 'node.removed', subject: removed.name, node: removed.name, details: { id: removed.id, dnsNames: removed.dnsNames, dnsSuffixes: removed.dnsSuffixes, eabKeyId: removed.eab?.keyId ?? null }, time: now }]);
    return removed;
  });
  // After the inventory write: from that moment the accounts are refused anyway (their node is
  // gone, src/acme/accounts.ts nodeBindingBroken); the deactivation makes it final and visible.
  const ids = store ? await deactivateAccountsAudited(deps, store, (a) => a.node === name, now, name, 'node removed') : [];
  return result(deps, 'node.remove', `removed node ${n.name}; deactivated ${ids.length} account(s) bound to it (its certificates stay for audit and revocation)`, { ...publicNodeView(n), deactivatedAccounts: ids });
}

export interface EabData {
  node: string;
  /** The credential (the caller writes it to a 0600 env file; never logged, never audited). */
  credential: EabCredential;
  created: boolean;
  previousKeyId: string | null;
  deactivatedAccounts: string[];
  /** Accounts bound with an earlier credential that keep working (rotation without deactivation). */
  accountsKept: string[];
}

/** Returns (creating on first use, or replacing when `rotate`) a node's EAB credential. */
export async function nodeEab(deps: OpsDeps, name: string, rotate: boolean, deactivate: boolean): Promise<OpResult<EabData>> {
  if (deactivate && !rotate) throw new OpsError('usage', '--deactivate-accounts goes with --rotate');
  const store = deactivate && deps.store ? writableStore(deps, 'store') : deps.store;
  const now = deps.now();
  const r = await deps.inventory.update(async (d) => {
    const previousKeyId = getNode(d, name).eab?.keyId ?? null;
    const { node, created } = ensureEab(d, name, now, rotate);
    if (created) {
      // The key id only: the MAC key is a secret and never enters the log.
      await deps.audit([{ type: previousKeyId ? 'node.eab-rotated' : 'node.eab-created', subject: node.name, node: node.name, details: { eabKeyId: node.eab!.keyId, previousEabKeyId: previousKeyId, deactivateAccounts: deactivate }, time: now }]);
    }
    return { node, created, previousKeyId };
  });
  // Every earlier credential of this node, not only the one just replaced: after a rotation
  // without the flag, the accounts of the credential before it still work, and --deactivate-accounts
  // means "its clients register again with the new credential" (RFC 8555 §7.3.6). An account made
  // with the new credential meanwhile is the node's client doing just that, and stays.
  const newKeyId = r.node.eab!.keyId;
  const old = (a: { node: string | null; eabKeyId: string | null }) => r.created && r.previousKeyId !== null && a.node === name && a.eabKeyId !== newKeyId;
  let deactivated: string[] = [];
  let kept: string[] = [];
  if (rotate && store) {
    if (deactivate) deactivated = await deactivateAccountsAudited(deps, store, old, now, name, 'EAB credential rotated');
    else kept = (await store.listAccounts({ node: name })).filter((a) => a.status === 'valid' && old(a)).map((a) => a.id);
  }
  const warnings = kept.length ? [`${kept.length} account(s) bound with an earlier credential of ${name} (the latest ${r.previousKeyId}) keep working; --deactivate-accounts would deactivate them`] : [];
  const verb = r.created ? (r.previousKeyId ? 'rotated' : 'created') : 'kept';
  return result(deps, 'node.eab', `${verb} EAB credential ${newKeyId} for ${name}${deactivate ? `; deactivated ${deactivated.length} account(s) bound with earlier credentials` : ''}`, {
    node: name,
    credential: r.node.eab!,
    created: r.created,
    previousKeyId: r.previousKeyId,
    deactivatedAccounts: deactivated,
    accountsKept: kept,
  }, warnings);
}

/** Moves the ARI window (RFC 9773) of the nodes' certificates to now; warns about clients that never poll. */
export async function renewNow(deps: OpsDeps, which: string[] | 'all', reason: string): Promise<OpResult<{ renewAfter: string; nodes: string[]; reason: string; neverPolled: string[] }>> {
  if (!reason.trim() || reason.length > 500) throw new OpsError('usage', '--reason must be 1 to 500 characters');
  const now = deps.now();
  const at = now.toISOString();
  const changed = await deps.inventory.update(async (d) => {
    const nodes = which === 'all' ? d.nodes : which.map((n) => getNode(d, n));
    if (nodes.length === 0) throw new OpsError('not-found', 'the inventory has no nodes');
    for (const n of nodes) n.renewAfter = at;
    await deps.audit(nodes.map((n) => ({ type: 'node.renew-now' as const, subject: n.name, node: n.name, details: { renewAfter: at, reason, all: which === 'all' }, time: now })));
    return nodes.map((n) => n.name);
  });
  const never = (await deps.ariNeverPolled?.(changed)) ?? [];
  const warnings = never.map((n) =>
    `node ${n}: its ACME client never fetched renewalInfo (Caddy before 2.8, certbot and lego before 4.14 do not), so it will NOT renew early; it renews on its own schedule (about 2/3 of the lifetime). To force it: revoke its certificate (nixca cert revoke --node ${n} --reason superseded) or restart its Caddy`,
  );
  return result(deps, 'renew-now', `renewal window moved to ${at} for ${changed.join(', ')}: clients that poll ARI renew at their next check (Caddy polls every few hours)`, { renewAfter: at, nodes: changed, reason, neverPolled: never }, warnings);
}
