// Orders (RFC 8555 §7.4): creation under policy, finalization, issuance through a LeafSigner.
import { AcmeProblem, problem, problemDocument } from './problems.js';
import { CHALLENGE_TYPES } from './challenges.js';
import { auditCommit, auditReady, emit, isObject, newId, newToken, type AcmeContext } from './context.js';
import { checkCsr, jwkSpki, readCsrQuietly, type CheckedCsr, type ReadCsr } from './csr.js';
import { checkIssued } from './issued.js';
import { x509 } from '../ca/x509.js';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, Identifier, OrderRecord } from './model.js';
import { decideIdentifiers } from './policy.js';
import { currentOrderStatus, orderAuthorizations } from './authorizations.js';
import { authorizationStatus, orderStatus } from './status.js';
import { rateLimited } from './limits.js';
import { checkReplaces, claimReplacement } from './ari.js';
import { normalizeSerial } from '../ca/serial.js';
import { StoreConflictError } from './store.js';

/**
 * All the ACME core needs from a CA (the consumer owns the narrow interface; cli wires
 * src/ca/leaf.ts issueLeaf to it). The core has verified the CSR (signature, names, key strength)
 * before calling; the signer only signs.
 */
export interface LeafSigner {
  signLeaf(req: {
    /** DER of the CSR, already verified by the core. */
    csrDer: Uint8Array;
    /** SubjectPublicKeyInfo DER of the CSR key (what a template encoder needs). */
    spki: Uint8Array;
    /** The same key as an object (built on first access: encoders that take `spki` never pay for it). */
    publicKey: CryptoKey | x509.PublicKey;
    dnsNames: readonly string[];
    notBefore: Date;
    notAfter: Date;
  }): Promise<{
    /** Lowercase hex. */
    serial: string;
    certificatePem: string;
    /** Leaf + intermediate, PEM. */
    chainPem: string;
    notBefore: Date;
    notAfter: Date;
    /** RFC 5280 §4.2.1.1 keyIdentifier of the issuer, hex, when the signer knows it (saves a parse). */
    akiKeyId?: string;
    /**
     * True when the certificate was encoded from exactly this request's `spki`, `dnsNames` and
     * validity by an encoder whose output is proven equal to @peculiar/x509's (src/ca/leaf-template.ts
     * and its differential test): the core then does not parse the certificate again.
     */
    encodedFromRequest?: boolean;
  }>;
  /**
   * Names this signer can never certify (RFC 5280 §4.2.1.10: outside the issuing chain's name
   * constraints), each with the reason; asked at newOrder so such a name is refused before any
   * authorization is created, not at finalize. Absent: every name is permitted.
   */
  refusedNames?(dnsNames: readonly string[]): Array<{ name: string; reason: string }>;
}

/** Leaf validity policy (docs/DESIGN.md: 7 days by default; notBefore backdated for clock skew). */
export interface LeafLifetimePolicy {
  /** Lifetime when the order names no notAfter (default 7 days). */
  defaultMs: number;
  /** Shortest notAfter − notBefore a client may ask for (default 1 hour). */
  minMs: number;
  /** Longest notAfter − notBefore a client may ask for (default: defaultMs). */
  maxMs: number;
  /** How far notBefore is backdated for clock skew when the client does not set it (default 5 min). */
  backdateMs: number;
  /** How far in the future a requested notBefore may lie (default 1 day). */
  maxFutureNotBeforeMs: number;
}

export const DEFAULT_LEAF_LIFETIME_MS = 7 * 86_400_000;

export function leafLifetimePolicy(p: Partial<LeafLifetimePolicy> = {}): LeafLifetimePolicy {
  const defaultMs = p.defaultMs ?? DEFAULT_LEAF_LIFETIME_MS;
  const policy = {
    defaultMs,
    minMs: p.minMs ?? 3_600_000,
    maxMs: p.maxMs ?? defaultMs,
    backdateMs: p.backdateMs ?? 5 * 60_000,
    maxFutureNotBeforeMs: p.maxFutureNotBeforeMs ?? 86_400_000,
  };
  if (!(policy.minMs > 0 && policy.minMs <= policy.defaultMs && policy.defaultMs <= policy.maxMs)) {
    throw new RangeError('leaf lifetime policy needs 0 < min ≤ default ≤ max');
  }
  return policy;
}

// ---------------------------------------------------------------------------------------------
// Operations

function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function parseTime(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  // §7.4: RFC 3339 date-time strings.
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) || Number.isNaN(Date.parse(v))) {
    throw problem('malformed', `"${name}" must be an RFC 3339 date-time`);
  }
  return floorToSecond(Date.parse(v));
}

/**
 * §7.4: requested notBefore/notAfter are honoured exactly (to X.509's one-second resolution) when
 * within policy; otherwise the order is refused with the reason. We never issue something else.
 */
export function requestedValidity(payload: Record<string, unknown>, now: Date, policy: LeafLifetimePolicy): { notBefore?: string; notAfter?: string } {
  const nb = parseTime(payload.notBefore, 'notBefore');
  const na = parseTime(payload.notAfter, 'notAfter');
  if (nb === undefined && na === undefined) return {};
  const t = now.getTime();
  const start = nb ?? floorToSecond(t - policy.backdateMs);
  const end = na ?? floorToSecond(t + policy.defaultMs);
  const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 100) / 100} h`;
  if (nb !== undefined && nb > t + policy.maxFutureNotBeforeMs) throw problem('malformed', `"notBefore" may be at most ${hours(policy.maxFutureNotBeforeMs)} in the future`);
  if (nb !== undefined && nb < t - policy.backdateMs - 1000) throw problem('malformed', `"notBefore" may be at most ${hours(policy.backdateMs)} in the past`);
  if (end <= t) throw problem('malformed', '"notAfter" is in the past');
  if (end <= start) throw problem('malformed', '"notAfter" must be after "notBefore"');
  if (end - start > policy.maxMs) throw problem('malformed', `the requested lifetime ${hours(end - start)} exceeds this CA's maximum of ${hours(policy.maxMs)}`);
  if (end - start < policy.minMs) throw problem('malformed', `the requested lifetime ${hours(end - start)} is below this CA's minimum of ${hours(policy.minMs)}`);
  return { ...(nb !== undefined ? { notBefore: new Date(nb).toISOString() } : {}), ...(na !== undefined ? { notAfter: new Date(na).toISOString() } : {}) };
}

function newAuthorization(accountId: string, value: string, expires: string, now: string): AuthorizationRecord {
  return {
    id: newId(),
    accountId,
    identifier: { type: 'dns', value },
    expires,
    challenges: CHALLENGE_TYPES.map((type) => ({ id: newId(), type, token: newToken(), status: 'pending' as const })),
    createdAt: now,
  };
}

export async function newOrder(ctx: AcmeContext, account: AccountRecord, payload: unknown): Promise<{ order: OrderRecord; authorizations: AuthorizationRecord[] }> {
  if (!isObject(payload)) throw problem('malformed', 'the newOrder payload must be a JSON object');
  const decision = decideIdentifiers(payload.identifiers, account, await ctx.inventory.read(), ctx.eabRequired, ctx.limits.limits.identifiersPerOrder);
  checkSignable(ctx, decision.identifiers);
  const now = ctx.now();
  const validity = requestedValidity(payload, now, ctx.lifetime);
  // RFC 9773 §5: checked before anything is created; reflected in the order as sent.
  const replacesSerial = payload.replaces === undefined ? undefined : await checkReplaces(ctx, account, payload.replaces, decision.identifiers);
  const release = replacesSerial === undefined ? () => undefined : claimReplacement(ctx, replacesSerial);
  try {
    // One newOrder per account at a time: the pending counts below stay true until the order is stored.
    return await ctx.limits.orders.run(account.id, () => createOrder(ctx, account, payload, decision, validity, replacesSerial, now));
  } finally {
    release();
  }
}

async function createOrder(
  ctx: AcmeContext,
  account: AccountRecord,
  payload: Record<string, unknown>,
  decision: ReturnType<typeof decideIdentifiers>,
  validity: ReturnType<typeof requestedValidity>,
  replacesSerial: string | undefined,
  now: Date,
): Promise<{ order: OrderRecord; authorizations: AuthorizationRecord[] }> {
  const expires = new Date(now.getTime() + ctx.orderLifetimeMs).toISOString();
  const reuseAt = new Date(now.getTime() + 60_000);
  const fresh = (value: string) => newAuthorization(account.id, value, expires, now.toISOString());
  const record = (authorizations: readonly AuthorizationRecord[]): OrderRecord => ({
    id: newId(),
    accountId: account.id,
    identifiers: decision.identifiers,
    authorizationIds: authorizations.map((a) => a.id),
    ...validity,
    expires,
    ...(replacesSerial !== undefined ? { replaces: payload.replaces as string, replacesSerial } : {}),
    createdAt: now.toISOString(),
  });
  if (ctx.store.createOrderIfClear) {
    // One round trip when nothing needs deciding: no authorization to reuse, limits far off.
    const authorizations = decision.identifiers.map((id) => fresh(id.value));
    const order = record(authorizations);
    const { pendingOrdersPerAccount: maxOrders, pendingAuthorizationsPerAccount: maxAuthorizations } = ctx.limits.limits;
    if (await ctx.store.createOrderIfClear(order, authorizations, { now, reuseAt, maxOrders, maxAuthorizations })) return { order, authorizations };
  }
  const authorizations: AuthorizationRecord[] = [];
  const created: AuthorizationRecord[] = [];
  const reads = await ctx.store.newOrderReads?.(account.id, decision.identifiers.map((i) => i.value), reuseAt);
  for (const id of decision.identifiers) {
    // §7.1.3 object reuse: a still-valid authorization of this account for this name.
    const reuse = reads ? reads.reusable.get(id.value) : await ctx.store.findReusableAuthorization(account.id, id.value, reuseAt);
    if (reuse) {
      authorizations.push(reuse);
      continue;
    }
    const a = fresh(id.value);
    authorizations.push(a);
    created.push(a);
  }
  await checkPendingLimits(ctx, account.id, created.length, now, reads?.orderIds);
  const order = record(authorizations);
  await ctx.store.createOrder(order, created);
  return { order, authorizations };
}

/** Names the signer can never certify are rejectedIdentifier now, one subproblem each (§6.7.1). */
function checkSignable(ctx: AcmeContext, identifiers: readonly Identifier[]): void {
  const refused = ctx.signer.refusedNames?.(identifiers.map((i) => i.value)) ?? [];
  if (!refused.length) return;
  const sub = refused.map((r) => problemDocument('rejectedIdentifier', `${r.name}: ${r.reason}`, { type: 'dns', value: r.name }));
  throw problem('rejectedIdentifier', sub.length === 1 ? sub[0]!.detail : `${sub.length} identifiers cannot be certified by this CA; see subproblems`, { subproblems: sub });
}

/**
 * RFC 8555 §6.6: an account may hold at most so many unfinished orders and pending
 * authorizations; Retry-After is when its oldest unfinished order expires (and frees its share).
 */
async function checkPendingLimits(ctx: AcmeContext, accountId: string, freshAuthorizations: number, now: Date, orderIds?: string[]): Promise<void> {
  const { pendingOrdersPerAccount, pendingAuthorizationsPerAccount } = ctx.limits.limits;
  let orders = 0;
  let oldestExpiry = now.getTime() + ctx.orderLifetimeMs;
  const pendingAuthz = new Set<string>();
  for (const id of orderIds ?? (await ctx.store.listOrderIds(accountId))) {
    const o = await ctx.store.getOrder(id);
    if (!o) continue;
    const authzs = await orderAuthorizations(ctx, o);
    const status = orderStatus(o, authzs, now, ctx.finalizing.has(o.id));
    if (status !== 'pending' && status !== 'ready' && status !== 'processing') continue;
    orders++;
    oldestExpiry = Math.min(oldestExpiry, Date.parse(o.expires));
    for (const a of authzs) if (authorizationStatus(a, now) === 'pending') pendingAuthz.add(a.id);
  }
  const wait = oldestExpiry - now.getTime();
  if (orders + 1 > pendingOrdersPerAccount) {
    throw rateLimited(`this account has ${orders} unfinished orders, the most it may hold is ${pendingOrdersPerAccount}: finalize or let them expire`, wait);
  }
  if (pendingAuthz.size + freshAuthorizations > pendingAuthorizationsPerAccount) {
    throw rateLimited(`this account has ${pendingAuthz.size} pending authorizations and this order needs ${freshAuthorizations} more; the most it may hold is ${pendingAuthorizationsPerAccount} (deactivate unused ones, RFC 8555 §7.5.2)`, wait);
  }
}

/**
 * The account's orders list (§7.1.2.1): "The server SHOULD include pending orders and SHOULD NOT
 * include orders that are invalid". Orders pruned from the working set are gone from it too.
 */
export async function listedOrderIds(ctx: AcmeContext, account: AccountRecord): Promise<string[]> {
  const now = ctx.now();
  const out: string[] = [];
  for (const id of await ctx.store.listOrderIds(account.id)) {
    const o = await ctx.store.getOrder(id);
    if (o && orderStatus(o, await orderAuthorizations(ctx, o), now, ctx.finalizing.has(o.id)) !== 'invalid') out.push(id);
  }
  return out;
}

/** Loads an object of this account; another account's object is unauthorized (§7.4, notes §2.6). */
export async function ownedOrder(ctx: AcmeContext, account: AccountRecord, id: string, read?: Promise<OrderRecord | undefined>): Promise<OrderRecord> {
  const order = await (read ?? ctx.store.getOrder(id));
  if (!order) throw problem('malformed', 'no such order (it may have expired and been pruned)', { status: 404 });
  if (order.accountId !== account.id) throw problem('unauthorized', 'this order belongs to another account');
  return order;
}

/**
 * finalize's order, read with the answer to "is the CSR key an account's key?" (§11.1) when the
 * store can give both at once and the request has a key; `isAccountKey` answers any thumbprint,
 * from that read for this key, else from the store.
 */
async function finalizeReads(ctx: AcmeContext, account: AccountRecord, id: string, csr: ReadCsr | undefined) {
  const thumbprint = csr?.thumbprint;
  const both = thumbprint !== undefined && ctx.store.getOrderAndAccountKey ? ctx.store.getOrderAndAccountKey(id, thumbprint) : undefined;
  const order = await ownedOrder(ctx, account, id, both?.then((r) => r?.order));
  const known = (await both)?.isAccountKey;
  const isAccountKey = async (t: string) => (t === thumbprint && known !== undefined ? known : (await ctx.store.findAccountByThumbprint(t)) !== undefined);
  return { order, isAccountKey };
}

/** The validity a finalize issues: the order's request, else now − backdate … now + default. */
function issuanceValidity(order: OrderRecord, now: Date, policy: LeafLifetimePolicy): { notBefore: Date; notAfter: Date } {
  const t = now.getTime();
  const notBefore = order.notBefore ? new Date(order.notBefore) : new Date(floorToSecond(t - policy.backdateMs));
  const notAfter = order.notAfter ? new Date(order.notAfter) : new Date(floorToSecond(t + policy.defaultMs));
  return { notBefore, notAfter };
}

function leafRequest(csr: CheckedCsr, notBefore: Date, notAfter: Date): Parameters<LeafSigner['signLeaf']>[0] {
  let publicKey: x509.PublicKey | undefined;
  return {
    csrDer: csr.der,
    spki: csr.spki,
    get publicKey() {
      return (publicKey ??= new x509.PublicKey(Buffer.from(csr.spki)));
    },
    dnsNames: csr.names,
    notBefore,
    notAfter,
  };
}

/**
 * finalize (§7.4). Only a `ready` order can be finalized: any other status, `valid` included (a
 * second finalize), is 403 orderNotReady. A bad CSR is badCSR and the order stays ready.
 * Issuance is synchronous: the certificate is durable in the store before we return.
 */
export async function finalizeOrder(ctx: AcmeContext, account: AccountRecord, id: string, payload: unknown): Promise<OrderRecord> {
  // The request is read first (nothing reported yet: checkCsr does that below, after the order's
  // checks), so that the order's read can tell whether its key is an account's key.
  const read = isObject(payload) ? readCsrQuietly(payload.csr) : undefined;
  const { order, isAccountKey } = await finalizeReads(ctx, account, id, read);
  let status = await currentOrderStatus(ctx, order);
  // A shared store's instance may still hold a copy of an authorization that another instance
  // validated moments ago: the refusal (orderNotReady) is decided on the stored records.
  if (status !== 'ready') status = await currentOrderStatus(ctx, order, true);
  if (status !== 'ready') {
    const why = status === 'processing' ? ' (a finalize is already running)' : status === 'valid' ? ' (it was finalized already; fetch its certificate)' : '';
    throw problem('orderNotReady', `the order is ${status}, not ready${why} (RFC 8555 §7.4)`);
  }
  if (!isObject(payload)) throw problem('malformed', 'the finalize payload must be a JSON object with "csr"');
  ctx.finalizing.add(id);
  try {
    const names = order.identifiers.map((i) => i.value);
    const csr = await checkCsr(payload.csr, names, jwkSpki(account.jwk), isAccountKey, { read });
    // The inventory may have changed since the order was placed: decide again at issuance.
    let node: string;
    try {
      node = decideIdentifiers(order.identifiers, account, await ctx.inventory.read(), ctx.eabRequired).node.name;
    } catch (err) {
      if (err instanceof AcmeProblem) {
        await ctx.store.updateOrder(id, (o) => ({ ...o, error: err.toDocument() }));
      }
      throw err;
    }
    // While the audit log refuses entries, each retry would sign one more certificate that stays
    // withheld: refuse before signing instead.
    await auditReady(ctx, 'issuance');
    const { notBefore, notAfter } = issuanceValidity(order, ctx.now(), ctx.lifetime);
    let issued: Awaited<ReturnType<LeafSigner['signLeaf']>> | undefined;
    let serial = '';
    // 128-bit random serials do not collide in practice; the index check makes "unique" a fact.
    for (let attempt = 0; attempt < 3 && !issued; attempt++) {
      const r = await ctx.signer.signLeaf(leafRequest(csr, notBefore, notAfter));
      serial = normalizeSerial(r.serial);
      if (serial && !ctx.store.hasSerial(serial)) issued = r;
    }
    if (!issued) throw problem('serverInternal', 'could not allocate a unique serial');
    const leaf = checkIssued(issued, { names: csr.names, spkiSha256: csr.spkiSha256, notBefore, notAfter });
    const record: CertificateRecord = {
      serial,
      accountId: account.id,
      node,
      names: csr.names,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      orderId: id,
      issuedAt: ctx.now().toISOString(),
      spkiSha256: csr.spkiSha256,
      ...(leaf.akiKeyId ? { akiKeyId: leaf.akiKeyId } : {}),
      ...(order.replacesSerial ? { replaces: order.replacesSerial } : {}),
    };
    try {
      await ctx.store.putCertificate(record, issued.chainPem, auditCommit(ctx, 'issuance', (a) => a.certificateIssued(record)));
    } catch (err) {
      // A store shared by several instances allows one certificate per order: if another instance
      // finalized this order meanwhile, its certificate stands and this one is never handed out.
      const cur = err instanceof StoreConflictError ? await ctx.store.getOrder(id) : undefined;
      if (cur?.certificateSerial && cur.certificateSerial !== serial) return cur;
      throw err;
    }
    const updated = ctx.store.recordsOrderCertificate ? undefined : await ctx.store.updateOrder(id, (o) => ({ ...o, certificateSerial: serial }));
    ctx.log.info({ serial, node, names: csr.names, account: account.id }, 'certificate issued');
    await emit(ctx, 'certificateIssued', record);
    return updated ?? { ...order, certificateSerial: serial };
  } finally {
    ctx.finalizing.delete(id);
  }
}
