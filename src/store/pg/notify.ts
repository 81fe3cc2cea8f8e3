// LISTEN/NOTIFY: how one instance's change reaches every other instance within moments
// (revocations → CRL, inventory → policy). One dedicated connection, outside the pool, that
// reconnects by itself; after a reconnect every subscriber is told to resynchronise, since
// notifications sent while it was away are lost (PostgreSQL does not queue them for us).
import pg from 'pg';

/** One instance's nonce channel (src/store/pg/nonce-peers.ts): its id in hex. */
export type NonceChannel = `nixca_nonce_${string}`;
export type Channel = 'nixca_revocation' | 'nixca_inventory' | 'nixca_account' | 'nixca_authz' | 'nixca_authz_row' | NonceChannel;
type Listener = (payload: string | undefined) => void;

export class ChangeFeed {
  readonly #subs = new Map<Channel, Set<Listener>>();
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = 500;
  #timer: NodeJS.Timeout | undefined;
  #connected = false;
  // LISTENs sent on the live connection, one after another: node-postgres queues a query sent
  // while another runs, a use it deprecates (an error from pg 9).
  #queue: Promise<unknown> = Promise.resolve();
  #listening = 0;
  #idle: Promise<unknown> = Promise.resolve();
  #beat: NodeJS.Timeout | undefined;
  readonly #keepAliveMs: number;
  readonly #keepAliveTimeoutMs: number;

  /**
   * `keepAliveMs`: how often the connection is asked `SELECT 1`; no answer within
   * `keepAliveTimeoutMs` counts as lost. A connection that dies silently (a peer's crash behind
   * a NAT or firewall, a cable pulled) sends no error: without the query the feed would count as
   * connected while hearing nothing, and caches would keep copies nobody announces changes to.
   */
  constructor(
    readonly config: pg.ClientConfig,
    readonly log: (msg: string, err?: Error) => void = () => undefined,
    opts: { keepAliveMs?: number; keepAliveTimeoutMs?: number } = {},
  ) {
    this.#keepAliveMs = opts.keepAliveMs ?? 15_000;
    this.#keepAliveTimeoutMs = opts.keepAliveTimeoutMs ?? 5_000;
  }

  /** Calls `fn` on every notification of `channel`, and with undefined after a reconnect. */
  subscribe(channel: Channel, fn: Listener): () => void {
    void this.subscribeNow(channel, fn);
    return () => void this.#subs.get(channel)?.delete(fn);
  }

  /**
   * As subscribe, resolving once the server listens on `channel` for this connection (or at once
   * when the feed is down: the next connection listens before it counts as connected).
   */
  async subscribeNow(channel: Channel, fn: Listener): Promise<() => void> {
    let s = this.#subs.get(channel);
    const known = s !== undefined;
    if (!s) this.#subs.set(channel, (s = new Set()));
    s.add(fn);
    const client = this.#client;
    if (!known && this.#connected && client) {
      const listen = this.#queue.then(() => client.query(`LISTEN ${channel}`));
      this.#queue = listen.catch(() => undefined);
      // Until the server listens, changes on this channel are not heard: copies kept meanwhile
      // may already be stale. Not connected until then, and its subscribers resynchronise after,
      // as after a reconnect. A failed LISTEN means a failed connection, whose replacement listens
      // on every channel.
      this.#listening++;
      const done = listen.then(
        () => void (client === this.#client && this.#dispatch(channel, undefined)),
        () => undefined, // (the connection's error handler schedules the reconnect)
      ).finally(() => this.#listening--);
      this.#idle = Promise.all([this.#idle, done]);
      await done;
    }
    return () => void s.delete(fn);
  }

  /** Resolves once every LISTEN sent so far is done (openPgStore returns a store that caches). */
  async settled(): Promise<void> {
    await this.#idle;
  }

  /** Up, and listening on every subscribed channel: what is heard is every change announced. */
  get connected(): boolean {
    return this.#connected && this.#listening === 0;
  }

  /** Resolves once listening (or rejects if the first connection fails). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, query_timeout: undefined, keepAlive: true });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client));
    client.on('notification', (n) => this.#dispatch(n.channel as Channel, n.payload));
    await client.connect();
    for (const ch of this.#subs.keys()) await client.query(`LISTEN ${ch}`);
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    const wasLost = this.#client !== undefined;
    this.#client = client;
    this.#queue = Promise.resolve();
    this.#connected = true;
    this.#retryMs = 500;
    clearInterval(this.#beat);
    this.#beat = setInterval(() => this.#probe(client), this.#keepAliveMs);
    this.#beat.unref();
    if (wasLost) for (const ch of this.#subs.keys()) this.#dispatch(ch, undefined);
  }

  /** The keep-alive query: an error or no answer in time is a lost connection. */
  #probe(client: pg.Client): void {
    if (client !== this.#client || !this.#connected) return;
    const probe = this.#queue.then(() => client.query('SELECT 1'));
    this.#queue = probe.catch(() => undefined);
    const timer = setTimeout(() => {
      this.#lost(client, new Error(`the change feed connection did not answer a keep-alive query within ${this.#keepAliveTimeoutMs} ms`));
      client.end().catch(() => undefined);
    }, this.#keepAliveTimeoutMs);
    timer.unref();
    probe.then(
      () => clearTimeout(timer),
      (err: Error) => {
        clearTimeout(timer);
        this.#lost(client, err);
      },
    );
  }

  #lost(client: pg.Client, err?: Error): void {
    if (client !== this.#client || !this.#connected) return;
    this.#connected = false;
    clearInterval(this.#beat);
    if (this.#closed) return;
    this.log('lost the change feed connection; reconnecting', err);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch(() => {
        this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
        this.#schedule();
      });
    }, this.#retryMs);
    this.#timer.unref();
  }

  #dispatch(channel: Channel, payload: string | undefined): void {
    for (const fn of this.#subs.get(channel) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        this.log('a change feed subscriber failed', err as Error);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    clearInterval(this.#beat);
    this.#connected = false;
    // A connection that died silently never confirms its end: do not wait for it forever.
    const client = this.#client;
    if (client) await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, this.#keepAliveTimeoutMs).unref())]);
  }
}
