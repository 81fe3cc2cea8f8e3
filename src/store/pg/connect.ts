// Connecting to the shared PostgreSQL store: one pg.Pool per process (node-postgres), no ORM.
// The password never travels on argv: it comes from peer/trust auth over a unix socket (none at
// all), or from a file (--store-password-file, a systemd credential). A URL carrying a password is
// refused, and every URL that reaches a log goes through redactStoreUrl first.
import { readFile } from 'node:fs/promises';
import pg from 'pg';

export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
  readonly kind = 'usage';
}

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

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** The URL as it may appear in logs and messages: no password, no query except the socket host. */
export function redactStoreUrl(url: string): string {
  try {
    const u = parseUrl(url, false);
    if (u.password) u.password = 'REDACTED';
    const host = u.searchParams.get('host');
    const port = u.searchParams.get('port');
    const user = u.searchParams.get('user');
    u.search = '';
    if (host) u.searchParams.set('host', host);
    if (port) u.searchParams.set('port', port);
    if (user) u.searchParams.set('user', user);
    return u.toString().replace(/^(postgres(?:ql)?:\/\/[^/@]*@)socket\.invalid\//i, '$1/');
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * libpq's forms: postgres://USER@HOST:PORT/DB, and for a unix socket postgres://USER@/DB?host=/dir
 * or postgres:///DB?host=/dir&user=USER. WHATWG URL cannot parse "USER@" with an empty host, so a
 * placeholder host is put in for parsing and dropped again.
 */
function parseUrl(url: string, strict = true): URL {
  let u: URL;
  try {
    u = new URL(url.replace(/^(postgres(?:ql)?:\/\/[^/@]*)@\//i, '$1@socket.invalid/'));
  } catch {
    throw new StoreConfigError(`--store is not a URL: ${redactStoreUrl(url)}`);
  }
  if (!strict) return u;
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new StoreConfigError(`--store must be a postgres:// URL, got ${u.protocol}//…`);
  if (u.password) throw new StoreConfigError('--store must not carry a password (it would be visible in the process list): use peer authentication over a unix socket or --store-password-file');
  if (!u.pathname.replace(/^\//, '')) throw new StoreConfigError(`--store must name a database: ${redactStoreUrl(url)}`);
  return u;
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
  return new StoreUnavailableError(`cannot use the store ${display}: ${e.message ?? String(err)}${e.code && !String(e.message).includes(e.code) ? ` (${e.code})` : ''}`);
}
