// Opening the shared PostgreSQL store: pool, schema check (never a migration: that is an explicit
// `nixca db migrate`), the ACME store, the change feed and, for a serving instance, its nonce
// peers (the shared nonce key and this instance's nonce channel).
import { randomBytes } from 'node:crypto';
import type { NoncePeers } from '../../acme/nonces.js';
import { createPgAcmeStore, type PgAcmeStore, type PgAcmeStoreOptions } from './acme.js';
import { describeConnectError, openPool, type PgPool, type PgStoreConfig } from './connect.js';
import { checkSchema, SchemaError } from './migrate.js';
import { ChangeFeed } from './notify.js';
import { createPgInventory } from './inventory.js';
import { PgNoncePeers } from './nonce-peers.js';
import type { InventoryStore } from '../inventory.js';

import { createPgAuditChain, missingAuditEntries, readSharedAudit, type AuditSigner, type PgAuditChain, type SharedAuditSnapshot } from './audit.js';

export { isPostgresUrl, redactStoreUrl, type PgStoreConfig } from './connect.js';
export type { AuditSigner, PgAuditChain, SharedAuditSnapshot } from './audit.js';

/** The shared audit chain of an open store (docs/postgres.md "The audit chain"). */
export interface SharedAudit {
  /** The chain, appended to with `signer` (this host's certified audit key). */
  chain(signer: AuditSigner): Promise<PgAuditChain>;
  /** Certificates and revocations without their entry (start-up recovery). */
  missing(): Promise<{ certificates: string[]; revocations: string[] }>;
  /** A consistent snapshot of the chain, its head, its signers and the store's serials (verify). */
  snapshot(): Promise<SharedAuditSnapshot>;
}

export interface PgStore {
  acme: PgAcmeStore;
  inventory: InventoryStore;
  /** Home-instance nonces (src/acme/nonces.ts HomeNonces); only when listening (serve). */
  noncePeers?: NoncePeers;
  feed: ChangeFeed;
  pool: PgPool;
  audit: SharedAudit;
  close(): Promise<void>;
}

export interface OpenPgOptions extends PgAcmeStoreOptions {
  /** Connection trouble worth a log line (never carries a secret). */
  log?: (msg: string, err?: Error) => void;
  /**
   * Listen for other instances' changes (default true: serve). A one-shot CLI command passes
   * false: no extra connection, and the process may exit while the pool is idle.
   */
  listen?: boolean;
  /**
   * Serve ACME nonces (default: when listening): read or create the shared nonce key and listen
   * on this instance's nonce channel. One-shot commands pass false: they issue and redeem none.
   */
  nonces?: boolean;
  /** How long a foreign nonce's home may take to answer (default 2 s; then badNonce). */
  nonceTimeoutMs?: number;
}

/** The shared nonce MAC key: created once by whichever instance comes first, then read by all. */
async function nonceKey(pool: PgPool): Promise<Buffer> {
  await pool.pool.query({ name: 'nonce-key-init', text: "INSERT INTO nixca_meta (key, value) VALUES ('nonce-key', $1) ON CONFLICT DO NOTHING", values: [randomBytes(32).toString('base64')] });
  const r = await pool.pool.query<{ value: string }>({ name: 'nonce-key', text: "SELECT value FROM nixca_meta WHERE key = 'nonce-key'" });
  return Buffer.from(r.rows[0]!.value, 'base64');
}

export async function openPgStore(cfg: PgStoreConfig, opts: OpenPgOptions = {}): Promise<PgStore> {
  const log = opts.log ?? (() => undefined);
  const listen = opts.listen ?? true;
  const pool = await openPool(listen ? cfg : { ...cfg, max: cfg.max ?? 2, allowExitOnIdle: true }, (err) => log('a pooled database connection failed (it is replaced on next use)', err));
  const feed = new ChangeFeed(pool.config, log);
  try {
    await checkSchema(pool.pool, pool.display);
    // One random id per process: its /health row and the home its nonces name.
    const instance = randomBytes(8);
    let peers: PgNoncePeers | undefined;
    if (listen) {
      await feed.start();
      if (opts.nonces ?? true) {
        peers = new PgNoncePeers(pool.pool, feed, await nonceKey(pool), instance, { timeoutMs: opts.nonceTimeoutMs, log });
        await peers.start();
      }
    }
    const acme = createPgAcmeStore(pool.pool, instance.toString('hex'), { ...opts, ...(listen ? { feed } : {}) });
    const closeAcme = acme.close.bind(acme);
    const store: PgStore = {
      acme: Object.assign(acme, {
        watchRevocations: (fn: () => void) => feed.subscribe('nixca_revocation', () => fn()),
        // Closing the ACME store closes everything it runs on (serve closes only the store).
        close: async () => {
          peers?.close();
          await closeAcme();
          await feed.close();
          await pool.end();
        },
      }),
      inventory: createPgInventory(pool.pool, listen ? feed : undefined),
      ...(peers ? { noncePeers: peers } : {}),
      feed,
      pool,
      audit: {
        chain: (signer) => createPgAuditChain(pool.pool, signer, opts.now),
        missing: () => missingAuditEntries(pool.pool),
        snapshot: () => readSharedAudit(pool.pool),
      },
      close: () => store.acme.close(),
    };
    // The caches' channels are listened on before the store is used (until then it keeps no copy).
    await feed.settled();
    return store;
  } catch (err) {
    await feed.close();
    await pool.end();
    if (err instanceof SchemaError) throw err;
    throw describeConnectError(pool.display, err);
  }
}
