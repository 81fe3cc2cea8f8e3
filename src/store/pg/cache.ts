// What each instance keeps of the shared store, and how it learns that a copy is no longer good.
import type { CertificateRecord } from '../../acme/model.js';
import type { Channel, ChangeFeed } from './notify.js';

/**
 * Records by id, kept by each instance while its change feed is up, for the reads every request
 * makes: the account of each JWS request with a `kid` (RFC 8555 §6.2, ~6 per issuance). An
 * update anywhere sends NOTIFY
 * on the channel with the id (delivered at commit) and every instance drops its copy; a feed
 * reconnect drops them all (notifications sent meanwhile are lost). Without a feed: no cache.
 */
export class NotifiedCache<T> {
  readonly #map = new Map<string, T>();
  // Drops counted per slot of ids (and all of them for a reconnect): a read keeps its result only
  // if no change to its id (or a colliding one) was announced while it ran.
  readonly #slots = new Uint32Array(1024);
  #all = 0;
  constructor(readonly feed: Pick<ChangeFeed, 'connected' | 'subscribe'> | undefined, channel: Channel, readonly max = 10_000) {
    feed?.subscribe(channel, (id) => this.drop(id));
  }
  get(id: string): T | undefined {
    return this.feed?.connected ? this.#map.get(id) : undefined;
  }
  static #slot(id: string): number {
    let h = 0;
    for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
    return h & 1023;
  }
  /** Taken before a read: a change announced during the read keeps its result out. */
  stamp(id: string): string {
    return `${this.#all}.${this.#slots[NotifiedCache.#slot(id)]}`;
  }
  set(id: string, v: T, seen: string): void {
    if (!this.feed?.connected || seen !== this.stamp(id)) return;
    if (this.#map.size >= this.max) this.#map.clear();
    this.#map.set(id, v);
  }
  drop(id: string | undefined): void {
    if (id) {
      this.#slots[NotifiedCache.#slot(id)]++;
      this.#map.delete(id);
    } else {
      this.#all++;
      this.#map.clear();
    }
  }
}

/**
 * Rows (record and version) by id, kept like NotifiedCache, but every change is announced with
 * the version it made ("id version"): a copy at that version or newer is kept, so this instance's
 * own write, whose announcement comes back to it, leaves its copy of the new row in place. A read
 * whose row is older than a version announced meanwhile is not kept; a feed reconnect drops all.
 */
export class RowCache<T> {
  readonly #map = new Map<string, { record: T; version: number }>();
  // The newest version announced per id (bounded: forgetting them counts as a reconnect).
  readonly #announced = new Map<string, number>();
  #epoch = 0;
  constructor(readonly feed: Pick<ChangeFeed, 'connected' | 'subscribe'> | undefined, channel: Channel, readonly max = 10_000) {
    feed?.subscribe(channel, (payload) => {
      const [id, v] = (payload ?? '').split(' ');
      if (id && v !== undefined && /^\d+$/.test(v)) this.announced(id, Number(v));
      else this.#reset();
    });
  }
  get(id: string): T | undefined {
    return this.feed?.connected ? this.#map.get(id)?.record : undefined;
  }
  /** Taken before a read or write: a reconnect while it runs keeps its result out. */
  get epoch(): number {
    return this.#epoch;
  }
  set(id: string, record: T, version: number, epoch: number): void {
    if (!this.feed?.connected || epoch !== this.#epoch || (this.#announced.get(id) ?? 0) > version) return;
    if ((this.#map.get(id)?.version ?? 0) > version) return;
    if (this.#map.size >= this.max) this.#map.clear();
    this.#map.set(id, { record, version });
  }
  announced(id: string, version: number): void {
    if (this.#announced.size >= this.max) this.#reset();
    if ((this.#announced.get(id) ?? 0) < version) this.#announced.set(id, version);
    if ((this.#map.get(id)?.version ?? 0) < version) this.#map.delete(id);
  }
  #reset(): void {
    this.#epoch++;
    this.#map.clear();
    this.#announced.clear();
  }
}

/**
 * The row (record and version) this instance last read or wrote, per id: the first read of a
 * versioned update (updateVersioned), which the update's own version check verifies, so a copy
 * made stale by another instance costs one failed write and a re-read, never a lost update. Never
 * served to readers: other instances' writes do not reach it.
 */
export class VersionHints<T> {
  readonly #map = new Map<string, { record: T; version: number }>();
  constructor(readonly max = 10_000) {}
  get(id: string): { record: T; version: number } | undefined {
    return this.#map.get(id);
  }
  /** Keeps a copy: the caller may go on to change `record`. */
  set(id: string, record: T, version: number): void {
    if (this.#map.size >= this.max && !this.#map.has(id)) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(id, { record: structuredClone(record), version });
  }
  drop(id: string): void {
    this.#map.delete(id);
  }
}

/**
 * Certificates this instance committed, for the download that follows (RFC 8555 §7.4.2). A
 * certificate row never changes (revocation is its own table), so no invalidation is needed: the
 * copy is kept only once the transaction committed, and bounded like the other caches.
 */
export class IssuedCache {
  readonly #map = new Map<string, { record: CertificateRecord; chainPem: string }>();
  constructor(readonly max = 1_000) {}
  get(serial: string) {
    return this.#map.get(serial);
  }
  set(record: CertificateRecord, chainPem: string): void {
    if (this.#map.size >= this.max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(record.serial, { record, chainPem });
  }
}
