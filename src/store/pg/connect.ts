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
 * A pool whose idle-client errors (the server restarted, the network dropped) are absorbed: the
 * pool discards the broken client and the next query connects afresh. Without the handler such an
 * error would crash the process (node-postgres emits it on the pool).
 */
export async function openPool(cfg: PgStoreConfig, onError?: (err: Error) => void): Promise<PgPool> {
  const config = await poolConfig(cfg);
  const pool = new pg.Pool(config);
  pool.on('error', (err) => onError?.(err));
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

/** A connection failure as one clear line (never the password). */
export function describeConnectError(display: string, err: unknown): StoreUnavailableError {
  const e = err as { code?: string; message?: string };
  // node-postgres' words when the server asks for a password (SCRAM, md5) and none was configured.
  if (/client password must be a string|password authentication .* no password supplied/i.test(e.message ?? '')) {
    return new StoreUnavailableError(`cannot use the store ${display}: the server asks for a password and none was given: use --store-password-file FILE (or the systemd credential nixca-store-password), or peer authentication over a unix socket (?host=/run/postgresql)`);
  }
  return new StoreUnavailableError(`cannot use the store ${display}: ${e.message ?? String(err)}${e.code && !String(e.message).includes(e.code) ? ` (${e.code})` : ''}`);
}
