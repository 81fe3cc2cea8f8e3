// Connecting to the shared PostgreSQL store: one pg.Pool per process (node-postgres), no ORM.
// The password never travels on argv: it comes from peer/trust auth over a unix socket (none at
// all), or from a file (--store-password-file, a systemd credential). A URL carrying a password is
// refused, and every URL that reaches a log goes through redactStoreUrl first.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { parseUrl, redactStoreUrl, StoreConfigError } from './url.js';

export { isPostgresUrl, redactStoreUrl, StoreConfigError } from './url.js';

/** The database cannot be reached or refused us (exit code `io`). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly kind = 'io';
}

export interface PgStoreConfig {
  /** postgres://USER@HOST:PORT/DB or postgres://USER@/DB?host=/run/postgresql (unix socket). */
  url: string;
  /** File holding the password (first line); absent: peer/trust authentication. */
  passwordFile?: string;
  /** Pool size (default 20). */
  max?: number;
  /** application_name seen in pg_stat_activity (default nixca). */
  applicationName?: string;
  /** Let the process exit while the pool is idle (one-shot CLI commands). */
  allowExitOnIdle?: boolean;
}

async function readPassword(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new StoreConfigError(`cannot read the store password file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const pw = text.split(/\r?\n/)[0] ?? '';
  if (!pw) throw new StoreConfigError(`the store password file ${file} is empty`);
  return pw;
}

/** pg.Pool options from the URL (unix socket via ?host=/dir, as libpq) and the password file. */
export async function poolConfig(cfg: PgStoreConfig): Promise<pg.PoolConfig> {
  const u = parseUrl(cfg.url);
  const socketDir = u.searchParams.get('host');
  const hostname = u.hostname === 'socket.invalid' ? '' : u.hostname;
  const host = socketDir ?? (hostname ? decodeURIComponent(hostname).replace(/^\[|\]$/g, '') : '/run/postgresql');
  return {
    host,
    port: Number(u.port || u.searchParams.get('port') || 5432),
    database: decodeURIComponent(u.pathname.slice(1)),
    user: u.username ? decodeURIComponent(u.username) : (u.searchParams.get('user') ?? undefined),
    ...(cfg.passwordFile ? { password: await readPassword(cfg.passwordFile) } : {}),
    max: cfg.max ?? 20,
    application_name: cfg.applicationName ?? 'nixca',
    allowExitOnIdle: cfg.allowExitOnIdle ?? false,
    // Also bounds the wait for a free pooled connection under load (pg-pool queues requests).
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // A dead server must not hang a request forever; long scans stay well under this.
    query_timeout: 30_000,
  };
}

/** node-postgres' pool, for code outside src/store/pg that passes one along (cli/db.ts). */
export type Pool = pg.Pool;

export interface PgPool {
  pool: pg.Pool;
  config: pg.PoolConfig;
  /** The URL without secrets, for logs. */
  display: string;
  end(): Promise<void>;
}

/**
 * A pool whose connection errors (the server restarted, the network dropped) are absorbed, on
 * idle and checked-out clients alike: the broken client is discarded and the next query connects
 * afresh. Without the handlers such an error would end the process (an 'error' event nobody
 * listens to is thrown).
 */
export async function openPool(cfg: PgStoreConfig, onError?: (err: Error) => void): Promise<PgPool> {
  const config = await poolConfig(cfg);
  const pool = new pg.Pool(config);
  // An idle client's error: pg-pool removes the client and emits the error on the pool.
  pool.on('error', (err) => onError?.(err));
  absorbCheckedOutErrors(pool, onError);
  let ended = false;
  return {
    pool,
    config,
    display: redactStoreUrl(cfg.url),
    async end() {
      if (ended) return;
      ended = true;
      await pool.end();
    },
  };
}

/**
 * pg-pool takes its own 'error' listener off a client for as long as the client is checked out
 * (pool.connect(): every transaction, the /health audit probe). When the server ends that
 * connection meanwhile — a fast shutdown sends FATAL 57P01 to every backend, also to one idle in
 * a transaction between two statements, and then closes it — node-postgres emits 'error' on the
 * client, and with no listener the whole process dies. This listener stays for the client's life.
 * The holder still learns of the failure: node-postgres rejects the running query and every later
 * one (the client is no longer queryable), and release() then discards the client.
 */
function absorbCheckedOutErrors(pool: pg.Pool, onError?: (err: Error) => void): void {
  const held = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => held.add(client));
  pool.on('release', (_err, client) => held.delete(client));
  pool.on('connect', (client) => {
    let told = false;
    client.on('error', (err) => {
      // Idle: the pool's own listener reports it. Held: once (the server's FATAL and then the
      // closed socket are two events for one lost connection).
      if (!held.has(client) || told) return;
      told = true;
      onError?.(err);
    });
  });
}

/** A connection failure as one clear line (never the password). */
export function describeConnectError(display: string, err: unknown): StoreUnavailableError {
  const e = err as { code?: string; message?: string };
  // node-postgres' words when the server asks for a password (SCRAM, md5) and none was configured.
  if (/client password must be a string|password authentication .* no password supplied/i.test(e.message ?? '')) {
    return new StoreUnavailableError(`cannot use the store ${display}: the server asks for a password and none was given: use --store-password-file FILE (or the systemd credential nixca-store-password), or peer authentication over a unix socket (?host=/run/postgresql)`);
  }
  return new StoreUnavailableError(`cannot use the store ${display}: ${e.message ?? String(err)}${e.code && !String(e.message).includes(e.code) ? ` (${e.code})` : ''}`);
}
