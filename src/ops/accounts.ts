// Account deactivation by the operator (RFC 8555 §7.3.6: a deactivated account's requests are
// refused with `unauthorized`, and deactivation is final). Also used when a node is removed or
// its EAB credential is rotated with --deactivate-accounts.
import type { AccountRecord } from '../acme/model.js';
import type { AcmeStore } from '../acme/store.js';
import { writableStore } from './revoke.js';
import { OpsError, type OpResult, type OpsDeps } from './types.js';

/** Deactivates every valid account `match` selects; returns their ids. */
export async function deactivateAccounts(store: AcmeStore, match: (a: AccountRecord) => boolean, now: Date): Promise<string[]> {
  const done: string[] = [];
  for (const a of await store.listAccounts()) {
    if (a.status !== 'valid' || !match(a)) continue;
    await store.updateAccount(a.id, (cur) => (cur.status === 'valid' ? { ...cur, status: 'deactivated', updatedAt: now.toISOString() } : undefined));
    done.push(a.id);
  }
  return done;
}

/**
 * Deactivates the valid accounts `match` selects, each audited first (`reason`): if the log refuses
 * the entries, every account stays as it was. Returns the ids deactivated.
 */
export async function deactivateAccountsAudited(deps: OpsDeps, store: AcmeStore, match: (a: AccountRecord) => boolean, now: Date, node: string, reason: string): Promise<string[]> {
  const ids = new Set((await store.listAccounts()).filter((a) => a.status === 'valid' && match(a)).map((a) => a.id));
  if (ids.size === 0) return [];
  await deps.audit([...ids].map((id) => ({ type: 'account.deactivated' as const, subject: id, node, details: { account: id, reason, by: 'operator' }, time: now })));
  return deactivateAccounts(store, (a) => ids.has(a.id), now);
}

export async function deactivateAccount(deps: OpsDeps, id: string, reason: string): Promise<OpResult<{ id: string; node: string | null }>> {
  const store = writableStore(deps, 'account');
  const account = await store.getAccount(id);
  if (!account) throw new OpsError('not-found', `no account ${JSON.stringify(id)}`);
  if (account.status !== 'valid') throw new OpsError('conflict', `account ${id} is already ${account.status}`);
  const now = deps.now();
  // Audited first: if the log refuses, the account stays as it was.
  await deps.audit([{ type: 'account.deactivated', subject: id, node: account.node, details: { account: id, reason, by: 'operator' }, time: now }]);
  await deactivateAccounts(store, (a) => a.id === id, now);
  return {
    op: 'account.deactivate',
    appliedBy: deps.appliedBy,
    summary: `deactivated account ${id}${account.node ? ` (node ${account.node})` : ''}: its requests are refused with unauthorized from now on`,
    warnings: [],
    data: { id, node: account.node },
  };
}
