// Home-instance nonces between serve processes (src/acme/nonces.ts HomeNonces; docs/postgres.md
// "Nonces"): a nonce presented to an instance other than the one that issued it is redeemed by
// asking its home over PostgreSQL NOTIFY, as Boulder's WFE routes a redemption to the nonce
// service named by the nonce's prefix. Each instance LISTENs on a channel derived from its id
// (on the change feed's connection); a request and its answer are one pg_notify each, sent through
// the pool. No table: nothing is stored, nothing is pruned.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { NoncePeers } from '../../acme/nonces.js';
import type { ChangeFeed, NonceChannel } from './notify.js';
import { prepared } from './sql.js';

/** The channel an instance listens on for requests about its nonces and answers to its own. */
export function nonceChannel(instance: Buffer): NonceChannel {
  return `nixca_nonce_${instance.toString('hex')}`;
}

const HEX_ID = /^[0-9a-f]{16}$/;
const TOKEN = /^[A-Za-z0-9_-]{1,200}$/;

export interface NoncePeerOptions {
  /** How long to wait for the home's answer before badNonce (default 2 s). */
  timeoutMs?: number;
  log?: (msg: string, err?: Error) => void;
}

export class PgNoncePeers implements NoncePeers {
  readonly #pending = new Map<string, { nonce: string; settle: (granted: boolean) => void }>();
  readonly #channel: NonceChannel;
  readonly #timeoutMs: number;
  readonly #log: (msg: string, err?: Error) => void;
  #redeem: (nonce: string) => boolean = () => false;
  #seq = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(
    readonly db: Pick<pg.Pool, 'query'>,
    readonly feed: ChangeFeed,
    readonly key: Buffer,
    readonly instance: Buffer,
    opts: NoncePeerOptions = {},
  ) {
    this.#channel = nonceChannel(instance);
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#log = opts.log ?? (() => undefined);
  }

  /** Starts listening on this instance's channel (LISTEN is re-sent after every reconnect). */
  async start(): Promise<void> {
    this.#unsubscribe = await this.feed.subscribeNow(this.#channel, (payload) => this.#received(payload));
  }

  answer(redeem: (nonce: string) => boolean): void {
    this.#redeem = redeem;
  }

  redeemAt(home: Buffer, nonce: string): Promise<boolean> {
    // Without our own channel the answer could not reach us: refuse at once rather than wait.
    if (!this.feed.connected || !this.#unsubscribe) return Promise.resolve(false);
    const id = (++this.#seq).toString(36);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), this.#timeoutMs);
      const settle = (granted: boolean) => {
        clearTimeout(timer);
        // An answer after the timeout finds nothing here: it is dropped, never accepted late.
        if (this.#pending.delete(id)) resolve(granted);
      };
      this.#pending.set(id, { nonce, settle });
      this.#notify(nonceChannel(home), `a ${this.instance.toString('hex')} ${id} ${nonce}`).catch(() => settle(false));
    });
  }

  #notify(channel: string, payload: string): Promise<unknown> {
    return prepared(this.db, 'nonce-notify', 'SELECT pg_notify($1, $2)', [channel, payload]);
  }

  #received(payload: string | undefined): void {
    if (payload === undefined) {
      // The listen connection was lost and is back: answers sent meanwhile are gone.
      for (const { settle } of [...this.#pending.values()]) settle(false);
      return;
    }
    const [kind, a, b, c] = payload.split(' ');
    if (kind === 'a' && a !== undefined && HEX_ID.test(a) && b !== undefined && TOKEN.test(b) && c !== undefined && TOKEN.test(c)) {
      // A peer asks for one of our nonces: it is granted once, removed here when granted.
      const granted = this.#redeem(c);
      const answer = granted ? `g ${b} ${this.#grant(a, b, c)}` : `u ${b}`;
      this.#notify(nonceChannel(Buffer.from(a, 'hex')), answer).catch((err: Error) => this.#log('could not answer another instance about a nonce', err));
    } else if (kind === 'g' && a !== undefined && b !== undefined) {
      // NOTIFY is open to every database role: a grant counts only with the tag of the home,
      // which knows the shared key, over this ask (asker, ask id, nonce).
      const p = this.#pending.get(a);
      if (p && tagEqual(b, this.#grant(this.instance.toString('hex'), a, p.nonce))) p.settle(true);
    } else if (kind === 'u' && a !== undefined) {
      // Refusing needs no proof: a forged refusal costs the client one badNonce retry (§6.5).
      this.#pending.get(a)?.settle(false);
    }
  }

  /** The home's proof that it granted `nonce` to the ask `askId` of instance `askerHex`. */
  #grant(askerHex: string, askId: string, nonce: string): string {
    return createHmac('sha256', this.key).update(`nixca nonce grant ${askerHex} ${askId} ${nonce}`).digest().subarray(0, 16).toString('base64url');
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const { settle } of [...this.#pending.values()]) settle(false);
  }
}

function tagEqual(got: string, want: string): boolean {
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}
