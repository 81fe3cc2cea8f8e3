// A throw-away PostgreSQL cluster for tests and the benchmark: initdb + pg_ctl in a temp directory,
// listening on a unix socket in that directory and on 127.0.0.1 at a free port, stopped (and deleted) at the end.
// PostgreSQL refuses to run as root, so under root (CI) the cluster runs as `nobody`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
export const PG_USER = 'nixca';
const PASSWORD = 'test-password-' + process.pid;

/** The directory holding initdb/pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin. */
async function pgBinDir(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) return dir;
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`)) return `/usr/lib/postgresql/${v}/bin`;
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian package postgresql');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestCluster {
  dir: string;
  socketDir: string;
  port: number;
  /** A file holding the superuser's password (for TCP connections). */
  passwordFile: string;
  /** postgres:// URL of `db` over the unix socket (trust auth, no password). */
  socketUrl(db: string): string;
  /** postgres:// URL of `db` over 127.0.0.1 (password auth: pass passwordFile). */
  tcpUrl(db: string): string;
  /** Creates a fresh database and returns its socket URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL as the superuser in `db` (test assertions, fault injection). */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(db: string, text: string, values?: unknown[]): Promise<R[]>;
  /** The postmaster's PID (its CPU and its children's are the database server's). */
  pid(): Promise<number>;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** `settings`: extra server settings (-c name=value), e.g. shared_preload_libraries for bench/statements.ts. */
export async function startTestCluster(settings: Record<string, string> = {}): Promise<TestCluster> {
  const bin = await pgBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'nixca-pg-'));
  const data = join(dir, 'data');
  const socketDir = dir;
  const passwordFile = join(dir, 'password');
  await writeFile(passwordFile, PASSWORD + '\n', { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await chown(dir, 65534, 65534);
    await chown(passwordFile, 65534, 65534);
  }
  await chmod(dir, 0o755);
  // Under root: the same command as `nobody` (runuser keeps it simple; no login shell, no PAM session).
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'nobody', '--', join(bin, cmd), ...args], { cwd: dir }) : run(join(bin, cmd), args, { cwd: dir }));
  const port = await freePort();
  await as('initdb', ['-D', data, '-U', PG_USER, '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${passwordFile}`, '--no-sync', '-E', 'UTF8', '--locale=C']);
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${socketDir} -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB${Object.entries(settings).map(([k, v]) => ` -c ${k}=${v}`).join('')}`;
  const start = () => as('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start']).then(() => undefined);
  const stop = () => as('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']).then(() => undefined);
  await start();
  const socketUrl = (db: string) => `postgres://${PG_USER}@/${db}?host=${encodeURIComponent(socketDir)}&port=${port}`;
  const sql = async <R extends pg.QueryResultRow>(db: string, text: string, values: unknown[] = []) => {
    const c = new pg.Client({ host: socketDir, port, user: PG_USER, database: db });
    await c.connect();
    try {
      return (await c.query<R>(text, values)).rows;
    } finally {
      await c.end();
    }
  };
  let stopped = false;
  return {
    dir, socketDir, port, passwordFile,
    socketUrl,
    tcpUrl: (db) => `postgres://${PG_USER}@127.0.0.1:${port}/${db}`,
    async createDatabase(name) {
      await sql('postgres', `CREATE DATABASE "${name.replace(/"/g, '')}"`);
      return socketUrl(name);
    },
    sql,
    pid: async () => Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]),
    stop: async () => {
      await stop();
      stopped = true;
    },
    start: async () => {
      await start();
      stopped = false;
    },
    async destroy() {
      if (!stopped) await stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
