// Accounts (RFC 8555 §7.3): creation with External Account Binding, lookup, update, deactivation,
// key rollover. The account is bound to the inventory node whose EAB key MACed its creation.
import type { JWK } from 'jose';
import type { InventoryData } from '../inventory/model.js';
import { emit, isObject, newId, type AcmeContext } from './context.js';
import { verifyEab } from './eab.js';
import { thumbprintOf, verifyInnerJws, type VerifiedJws } from './jws.js';
import type { AccountRecord, CertificateRecord } from './model.js';
import { show } from './json.js';
import { rateLimited } from './limits.js';
import { problem } from './problems.js';
import { StoreConflictError } from './store.js';

/** At most this many contacts; mailto only, no header fields (§7.3, RFC 6068). */
const MAX_CONTACTS = 10;

function checkContact(input: unknown): string[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) throw problem('malformed', '"contact" must be an array of URLs');
  if (input.length > MAX_CONTACTS) throw problem('invalidContact', `at most ${MAX_CONTACTS} contacts are accepted`);
  return input.map((c) => {
    if (typeof c !== 'string') throw problem('invalidContact', 'every contact must be a string URL');
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/.exec(c);
    if (!m) throw problem('invalidContact', `${show(c)} is not a URL`);
    if (m[1]!.toLowerCase() !== 'mailto') throw problem('unsupportedContact', `contact scheme ${show(m[1])} is not supported (mailto only)`);
    const addr = m[2]!;
    // RFC 8555 §7.3: no hfields, a single address.
    if (!/^[^\s@?,;<>"]+@[^\s@?,;<>"]+\.[^\s@?,;<>"]+$/.test(addr)) throw problem('invalidContact', `${show(c)} is not a single mailto address without header fields`);
    return 'mailto:' + addr;
  });
}

/**
 * New accounts per EAB credential and per client IP (RFC 8555 §6.6). Checked and counted in one
 * synchronous step, so a concurrent burst cannot pass the check together; the returned function
 * takes the count back when no account was created after all (the key had one already, the
 * store refused), so only creations use up the window.
 */
function reserveAccountRates(ctx: AcmeContext, eabKeyId: string | null, clientIp: string | undefined, now: number): () => void {
  const { accountsPerEab, accountsPerIp } = ctx.limits;
  const eabWait = eabKeyId === null ? 0 : accountsPerEab.waitFor(eabKeyId, now);
  if (eabWait > 0) throw rateLimited(`this External Account Binding credential created ${accountsPerEab.limit.count} accounts in the last ${Math.round(accountsPerEab.limit.windowMs / 60_000)} minutes`, eabWait);
  const ipWait = clientIp === undefined ? 0 : accountsPerIp.waitFor(clientIp, now);
  if (ipWait > 0) throw rateLimited(`${accountsPerIp.limit.count} accounts were created from this address in the last ${Math.round(accountsPerIp.limit.windowMs / 60_000)} minutes`, ipWait);
  if (eabKeyId !== null) accountsPerEab.record(eabKeyId, now);
  if (clientIp !== undefined) accountsPerIp.record(clientIp, now);
  return () => {
    if (eabKeyId !== null) accountsPerEab.forget(eabKeyId, now);
    if (clientIp !== undefined) accountsPerIp.forget(clientIp, now);
  };
}

/**
 * Why a node-bound account no longer follows its node, or null while it does. An account is bound
 * to the node's identity, not to its name: a node removed and added again under the same name is a
 * new identity (NodeRecord.id), and accounts of the old one stay refused even before an operator's
 * deactivation reaches the store. Accounts and nodes from before identities compare creation times
 * (an EAB-bound account cannot predate the node whose credential made it).
 */
export function nodeBindingBroken(account: Pick<AccountRecord, 'node' | 'nodeId' | 'createdAt'>, inventory: InventoryData): string | null {
  if (account.node === null) return null;
  const node = inventory.nodes.find((n) => n.name === account.node);
  if (!node) return `the account's node ${account.node} was removed from the inventory`;
  const same = account.nodeId !== undefined && node.id !== undefined ? account.nodeId === node.id : account.createdAt >= node.createdAt;
  return same ? null : `the account belongs to an earlier node named ${account.node} (removed, then added again)`;
}

/** The account named by a `kid` (resolved to an id by the caller); deactivated → 401 (§7.3.6). */
export async function accountForKid(ctx: AcmeContext, id: string | undefined): Promise<AccountRecord> {
  const account = id === undefined ? undefined : await ctx.store.getAccount(id);
  if (!account) throw problem('accountDoesNotExist', 'no account exists at this "kid" URL');
  if (account.status !== 'valid') throw problem('unauthorized', `the account is ${account.status}`, { status: 401 });
  const broken = nodeBindingBroken(account, await ctx.inventory.read());
  if (broken) throw problem('unauthorized', broken, { status: 401 });
  return account;
}

/**
 * Whether `account` may read or replace (RFC 9773 §5) a certificate: its own, or one ordered by
 * any account bound to the same inventory node (a node re-registering keeps its certificates).
 */
export function accountHoldsCertificate(account: AccountRecord, cert: Pick<CertificateRecord, 'accountId' | 'node'>): boolean {
  return cert.accountId === account.id || (account.node !== null && account.node === cert.node);
}

/** §7.3.1: a known key gets its unchanged account (any fields ignored, 200 + Location), if it may. */
async function knownKeyAccount(ctx: AcmeContext, existing: AccountRecord): Promise<{ account: AccountRecord; created: false }> {
  if (existing.status !== 'valid') throw problem('unauthorized', `the account for this key is ${existing.status}`, { status: 401 });
  const broken = nodeBindingBroken(existing, await ctx.inventory.read());
  if (broken) throw problem('unauthorized', broken, { status: 401 });
  return { account: existing, created: false };
}

/**
 * The account a newAccount payload asks for, checked (§7.3, §7.3.4 External Account Binding), with
 * the creation counted against the rate limits (`release` takes that back).
 */
async function accountToCreate(ctx: AcmeContext, jws: VerifiedJws, payload: Record<string, unknown>, clientIp: string | undefined): Promise<{ account: AccountRecord; release: () => void }> {
  if (payload.termsOfServiceAgreed !== undefined && typeof payload.termsOfServiceAgreed !== 'boolean') {
    throw problem('malformed', '"termsOfServiceAgreed" must be a boolean');
  }
  const contact = checkContact(payload.contact);
  let node: string | null = null;
  let eab: AccountRecord['externalAccountBinding'] = null;
  let eabKeyId: string | null = null;
  let nodeId: string | undefined;
  if (payload.externalAccountBinding !== undefined) {
    const v = await verifyEab(payload.externalAccountBinding, { outerUrl: jws.header.url, accountJwk: jws.jwk, inventory: await ctx.inventory.read() });
    node = v.node.name;
    nodeId = v.node.id;
    eab = v.jws;
    eabKeyId = v.keyId;
  } else if (ctx.eabRequired) {
    throw problem('externalAccountRequired', 'this server requires External Account Binding (RFC 8555 §7.3.4): use the node\'s NIXCA_EAB_KEY_ID and NIXCA_EAB_MAC_KEY');
  }
  const when = ctx.now();
  const release = reserveAccountRates(ctx, eabKeyId, clientIp, when.getTime());
  const now = when.toISOString();
  const account: AccountRecord = {
    id: newId(),
    status: 'valid',
    jwk: jws.jwk,
    thumbprint: jws.thumbprint,
    contact,
    node,
    ...(nodeId !== undefined ? { nodeId } : {}),
    eabKeyId,
    externalAccountBinding: eab,
    createdAt: now,
    updatedAt: now,
  };
  return { account, release };
}

/**
 * newAccount (§7.3). A new key is one store write: the payload is checked and the account created,
 * which the store refuses for a key that already has one (the database's unique thumbprint on a
 * shared store); only then, or when the payload or a rate limit is refused, is the key looked up,
 * and a known key gets its account whatever the payload says (§7.3.1), as if looked up first.
 */
export async function newAccount(ctx: AcmeContext, jws: VerifiedJws, from: { clientIp?: string } = {}): Promise<{ account: AccountRecord; created: boolean }> {
  const payload = jws.payload;
  if (!isObject(payload)) throw problem('malformed', 'the newAccount payload must be a JSON object');
  const known = async () => {
    const existing = await ctx.store.findAccountByThumbprint(jws.thumbprint);
    return existing && knownKeyAccount(ctx, existing);
  };
  if (payload.onlyReturnExisting === true) {
    const found = await known();
    if (found) return found;
    throw problem('accountDoesNotExist', 'no account exists for this key (onlyReturnExisting)');
  }
  let prepared: Awaited<ReturnType<typeof accountToCreate>>;
  try {
    prepared = await accountToCreate(ctx, jws, payload, from.clientIp);
  } catch (err) {
    const found = await known();
    if (found) return found;
    throw err;
  }
  const { account, release } = prepared;
  try {
    await ctx.store.createAccount(account);
  } catch (err) {
    release();
    // The key has an account (made before, or by a concurrent newAccount with the same key).
    if (err instanceof StoreConflictError) {
      const found = await known();
      if (found) return found;
    }
    throw err;
  }
  ctx.log.info({ account: account.id, node: account.node }, 'account created');
  await emit(ctx, 'accountCreated', { id: account.id, node: account.node });
  return { account, created: true };
}

/** POST to the account URL (§7.3.2, §7.3.6): POST-as-GET, contact update, or deactivation. */
export async function updateAccount(ctx: AcmeContext, account: AccountRecord, jws: VerifiedJws): Promise<AccountRecord> {
  if (jws.payloadText === '') return account;
  const payload = jws.payload;
  if (!isObject(payload)) throw problem('malformed', 'the account update payload must be a JSON object');
  const contact = payload.contact === undefined ? undefined : checkContact(payload.contact);
  // §7.3.2: "The server MUST ignore any updates to the "orders" field, "termsOfServiceAgreed"
  // field, the "status" field (except as allowed by Section 7.3.6), or any other fields it does not
  // recognize": only contact and {"status": "deactivated"} change anything.
  const deactivate = payload.status === 'deactivated';
  if (contact === undefined && !deactivate) return account;
  const updated = await ctx.store.updateAccount(account.id, (a) => ({
    ...a,
    ...(contact !== undefined ? { contact } : {}),
    ...(deactivate ? { status: 'deactivated' as const } : {}),
    updatedAt: ctx.now().toISOString(),
  }));
  if (!updated) throw problem('accountDoesNotExist', 'the account no longer exists');
  if (deactivate) ctx.log.info({ account: account.id }, 'account deactivated');
  return updated;
}

/**
 * keyChange (§7.3.5): the inner JWS, signed by the new key, names the account and the old key.
 * A new key that already belongs to an account is a 409 with that account's Location.
 * Pending orders stay valid (they belong to the account, not to the key).
 */
export async function keyChange(
  ctx: AcmeContext,
  account: AccountRecord,
  jws: VerifiedJws,
  links: { accountUrl: string; accountUrlOf(id: string): string },
): Promise<AccountRecord> {
  const inner = await verifyInnerJws(jws.payload, jws.header.url);
  const p = inner.payload;
  if (!isObject(p)) throw problem('malformed', 'the keyChange inner payload must be a JSON object');
  if (p.account !== links.accountUrl) throw problem('malformed', 'the inner payload "account" must be the URL of the account signing the outer JWS');
  if (!isObject(p.oldKey)) throw problem('malformed', 'the inner payload needs "oldKey"');
  let oldThumb: string;
  try {
    oldThumb = await thumbprintOf(p.oldKey as JWK);
  } catch {
    throw problem('malformed', '"oldKey" is not a JWK');
  }
  if (oldThumb !== account.thumbprint) throw problem('unauthorized', '"oldKey" is not the account\'s current key');
  const newThumb = await thumbprintOf(inner.jwk);
  if (newThumb === account.thumbprint) throw problem('malformed', 'the new key is the current key');
  const conflict = async (id?: string) => {
    const other = id ? { id } : await ctx.store.findAccountByThumbprint(newThumb);
    return problem('malformed', 'the new key already belongs to an account (RFC 8555 §7.3.5)', {
      status: 409,
      ...(other ? { headers: { Location: links.accountUrlOf(other.id) } } : {}),
    });
  };
  if (await ctx.store.findAccountByThumbprint(newThumb)) throw await conflict();
  try {
    const updated = await ctx.store.updateAccount(account.id, (a) => ({ ...a, jwk: inner.jwk, thumbprint: newThumb, updatedAt: ctx.now().toISOString() }));
    if (!updated) throw problem('accountDoesNotExist', 'the account no longer exists');
    ctx.log.info({ account: account.id }, 'account key changed');
    return updated;
  } catch (err) {
    if (err instanceof StoreConflictError) throw await conflict(err.existingId);
    throw err;
  }
}
