// The working set of the ACME store: orders and authorizations (RFC 8555 §7.1.3, §7.1.4), a bounded
// in-flight set kept fully in memory and logged to acme/working.jsonl (every version appended;
// compacted by src/store/acme-compaction.ts). Expired records are pruned.
import type { AuthorizationRecord, OrderRecord } from '../acme/model.js';
import { authorizationStatus, orderStatus } from '../acme/status.js';
import { scanJsonLines } from './acme-log.js';

export type WorkingEntry = { t: 'order'; v: OrderRecord } | { t: 'authz'; v: AuthorizationRecord };

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The shape every working-set line must have (a line that parses but is not a record is corruption). */
export function checkWorkingEntry(value: unknown): WorkingEntry {
  const e = value as WorkingEntry;
  if (e?.t === 'order' && isText(e.v?.id) && isText(e.v.accountId) && isText(e.v.expires) && Array.isArray(e.v.authorizationIds)) return e;
  if (e?.t === 'authz' && isText(e.v?.id) && isText(e.v.accountId) && isText(e.v.expires) && isText(e.v.identifier?.value) && Array.isArray(e.v.challenges)) return e;
  throw new Error(`unknown or incomplete working-set entry${typeof e?.t === 'string' ? ` of type ${JSON.stringify(e.t).slice(0, 40)}` : ''}`);
}

export class WorkingSet {
  readonly orders = new Map<string, OrderRecord>();
  readonly authzs = new Map<string, AuthorizationRecord>();
  /** Lines in working.jsonl (live and dead versions): what compaction weighs. */
  lines = 0;
  readonly #byAccount = new Map<string, Set<string>>();
  readonly #replacing = new Map<string, Set<string>>(); // replaced serial → order ids
  readonly #reusable = new Map<string, string>(); // accountId \n identifier → authz id (valid)

  /** Replays one logged version (at open; indexes are built once afterwards by `reindex`). */
  replay(e: WorkingEntry): void {
    this.lines++;
    if (e.t === 'order') this.orders.set(e.v.id, e.v);
    else this.authzs.set(e.v.id, e.v);
  }

  reindex(): void {
    for (const o of this.orders.values()) this.#indexOrder(o);
    for (const a of this.authzs.values()) this.#indexAuthz(a);
  }

  putOrder(o: OrderRecord): void {
    this.orders.set(o.id, o);
    this.#indexOrder(o);
  }

  putAuthz(a: AuthorizationRecord): void {
    this.authzs.set(a.id, a);
    this.#indexAuthz(a);
  }

  orderIds(accountId: string): string[] {
    return [...(this.#byAccount.get(accountId) ?? [])];
  }

  ordersReplacing(serial: string): OrderRecord[] {
    return [...(this.#replacing.get(serial) ?? [])].map((id) => this.orders.get(id)).filter((o): o is OrderRecord => o !== undefined);
  }

  reusableAuthorization(accountId: string, identifier: string, at: Date): AuthorizationRecord | undefined {
    const id = this.#reusable.get(reuseKey(accountId, identifier));
    const a = id === undefined ? undefined : this.authzs.get(id);
    return a && authorizationStatus(a, at) === 'valid' ? a : undefined;
  }

  #indexOrder(o: OrderRecord): void {
    addTo(this.#byAccount, o.accountId, o.id);
    if (o.replacesSerial) addTo(this.#replacing, o.replacesSerial, o.id);
  }

  #indexAuthz(a: AuthorizationRecord): void {
    const key = reuseKey(a.accountId, a.identifier.value);
    if (a.challenges.some((c) => c.status === 'valid') && !a.deactivated && !a.revoked) this.#reusable.set(key, a.id);
    else if (this.#reusable.get(key) === a.id) this.#reusable.delete(key);
  }

  /** Drops orders and authorizations expired more than `graceMs` before `at` (memory only). */
  prune(at: Date, graceMs: number): { orders: number; authorizations: number } {
    const cutoff = at.getTime() - graceMs;
    let o = 0;
    let a = 0;
    const live = new Set<string>();
    for (const [id, order] of this.orders) {
      if (Date.parse(order.expires) < cutoff) {
        this.orders.delete(id);
        removeFrom(this.#byAccount, order.accountId, id);
        if (order.replacesSerial) removeFrom(this.#replacing, order.replacesSerial, id);
        o++;
      } else {
        for (const aid of order.authorizationIds) live.add(aid);
      }
    }
    for (const [id, authz] of this.authzs) {
      if (Date.parse(authz.expires) < cutoff && !live.has(id)) {
        this.authzs.delete(id);
        const key = reuseKey(authz.accountId, authz.identifier.value);
        if (this.#reusable.get(key) === id) this.#reusable.delete(key);
        a++;
      }
    }
    return { orders: o, authorizations: a };
  }

  /** Orders without a certificate or an error that have not expired and are pending or ready. */
  inFlight(at: Date): number {
    const t = at.getTime();
    let n = 0;
    for (const o of this.orders.values()) {
      if (o.certificateSerial || o.error || Date.parse(o.expires) <= t) continue;
      const st = orderStatus(o, o.authorizationIds.map((id) => this.authzs.get(id)).filter((a): a is AuthorizationRecord => a !== undefined), at, false);
      if (st === 'pending' || st === 'ready') n++;
    }
    return n;
  }

  /** The live records as log lines (what compaction writes). */
  snapshotLines(): string[] {
    return [
      ...[...this.authzs.values()].map((v) => JSON.stringify({ t: 'authz', v })),
      ...[...this.orders.values()].map((v) => JSON.stringify({ t: 'order', v })),
    ];
  }
}

const reuseKey = (accountId: string, identifier: string) => `${accountId}\n${identifier}`;

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  s?.delete(v);
  if (s?.size === 0) m.delete(k);
}

/** Reads working.jsonl into a new working set; returns it and the scan (size, torn tail). */
export async function loadWorkingSet(file: string): Promise<{ set: WorkingSet; size: number; torn?: { offset: number; bytes: Buffer } }> {
  const set = new WorkingSet();
  const scan = await scanJsonLines(file, (value) => set.replay(checkWorkingEntry(value)));
  return { set, ...scan };
}
