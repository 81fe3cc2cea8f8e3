// What each instance keeps of the shared store, and how it learns that a copy is no longer good.
import type { CertificateRecord } from '../../acme/model.js';
import type { Channel, ChangeFeed } from './notify.js';

/**
 * Records by id, kept by each instance while its change feed is up, for the reads every request
 * makes: the account of each JWS request with a `kid` (RFC 8555 §6.2, ~6 per issuance) and valid
 * authorizations (order and authorization polls, finalize). An update anywhere sends NOTIFY on
 * the channel with the id (delivered at commit) and every instance drops its copy; a feed
 * reconnect drops them all (notifications sent meanwhile are lost). Without a feed: no cache.
 */
export class NotifiedCache<T> {
  readonly #map = new Map<string, T>();
  #generation = 0;
  constructor(readonly feed: Pick<ChangeFeed, 'connected' | 'subscribe'> | undefined, channel: Channel, readonly max = 10_000) {
    feed?.subscribe(channel, (id) => this.drop(id));
  }
  get(id: string): T | undefined {
    return this.feed?.connected ? this.#map.get(id) : undefined;
  }
  /** The generation before a read: a change announced during the read keeps its result out. */
  get generation(): number {
    return this.#generation;
  }
  set(id: string, v: T, seen: number): void {
    if (!this.feed?.connected || seen !== this.#generation) return;
    if (this.#map.size >= this.max) this.#map.clear();
    this.#map.set(id, v);
  }
  drop(id: string | undefined): void {
    this.#generation++;
    if (id) this.#map.delete(id);
    else this.#map.clear();
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
