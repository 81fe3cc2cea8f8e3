// Starts a real `nixca serve` child process on loopback (the benchmark, the crash and the load
// tests all use this): a fresh state directory with the development PKI (`serve --dev`), a node
// that owns every name under a DNS suffix, its EAB credential, and `--resolve NAME=127.0.0.1` for
// the names the caller will use (the issuer asks no DNS server, and validates http-01 on the
// caller's responder port). Only PIDs this module spawned are ever signalled.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import type { Target } from './measure.js';

/** dist/cli/main.js, next to dist/bench/lib/. */
export const NIXCA_MAIN = resolve(fileURLToPath(import.meta.url), '../../../cli/main.js');
/** dist/bench/seed.js */
export const SEED_MAIN = resolve(fileURLToPath(import.meta.url), '../../seed.js');

/** The development root permits n3x.internal (cli/dev.ts): benchmark names live under it. */
export const DEFAULT_SUFFIX = 'bench.n3x.internal';
export const BENCH_NODE = 'bench';

export interface NixcaOptions {
  port: number;
  http01Port: number;
  /** Names the issuer must resolve to 127.0.0.1 for http-01 (passed as --resolve). */
  names: readonly string[];
  namesSuffix?: string;
  stateDir?: string;
  keepState?: boolean;
  seedCerts?: number;
  cpuProfDir?: string;
  logLevel?: string;
  /** Extra node flags for the server process (e.g. --max-semi-space-size=4). */
  nodeArgs?: readonly string[];
  /** Extra `nixca serve` flags. */
  extraArgs?: readonly string[];
  /** The shared store (`--store`): the bench node and its EAB credential go there; absent: embedded. */
  store?: StoreArgs;
  log?: (s: string) => void;
}

export interface NixcaServer {
  target: Target;
  stateDir: string;
  logFile: string;
  /** PID of the running server (changes after restart). */
  readonly pid: number;
  /** Starts the server again on the same state (after kill() or stop()). */
  restart(): Promise<void>;
  /** SIGKILL: no chance to flush or close anything. */
  kill(): Promise<void>;
  /** SIGTERM and wait (graceful shutdown); then removes the state dir unless kept. */
  stop(opts?: { keepState?: boolean }): Promise<void>;
  /** Resolves once the directory answers (used by clients that lost the server). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Whether the process still runs, and the end of its log: for a test's failure message. */
  describe(): string;
}

/**
 * A TCP port free on 127.0.0.1 (and ::1): the kernel's pick (port 0) unless a range is given, then
 * tried in random order. Test files run in parallel (and other services may share the machine),
 * so fixed ports collide.
 */
export async function freePort(from?: number, to?: number): Promise<number> {
  const { createServer } = await import('node:net');
  const tryListen = (port: number, host: string) =>
    new Promise<boolean>((resolvePromise) => {
      const srv = createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => resolvePromise(host === '::1' && err.code === 'EADDRNOTAVAIL'));
      srv.listen({ port, host, ipv6Only: host === '::1' }, () => srv.close(() => resolvePromise(true)));
    });
  if (from === undefined || to === undefined) {
    for (let i = 0; i < 20; i++) {
      const port = await new Promise<number>((resolvePromise, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const p = (srv.address() as { port: number }).port;
          srv.close(() => resolvePromise(p));
        });
      });
      if (await tryListen(port, '::1')) return port;
    }
    throw new Error('no port free on both 127.0.0.1 and ::1');
  }
  const ports = Array.from({ length: to - from + 1 }, (_, i) => from + i).sort(() => Math.random() - 0.5);
  for (const port of ports) {
    if ((await tryListen(port, '127.0.0.1')) && (await tryListen(port, '::1'))) return port;
  }
  throw new Error(`no free port between ${from} and ${to}`);
}

/** Runs the CLI synchronously; throws with its stderr on a non-zero exit. */
export function nixca(args: readonly string[]): string {
  const r = spawnSync(process.execPath, [NIXCA_MAIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (r.status !== 0) throw new Error(`nixca ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function parseEnvFile(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
}

export interface StoreArgs {
  url: string;
  passwordFile?: string;
}

/** `--store URL [--store-password-file F]`, or nothing for the embedded store. */
export const storeArgs = (s: StoreArgs | undefined): string[] => (s ? ['--store', s.url, ...(s.passwordFile ? ['--store-password-file', s.passwordFile] : [])] : []);

/** Prepares a state directory: the bench node (suffix) and its EAB credential (in the shared store with `store`). */
export function prepareState(stateDir: string, suffix: string, store?: StoreArgs): { kid: string; hmacKey: string } {
  if (!existsSync(join(stateDir, 'bench.eab.env'))) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 }); // node add needs an existing state directory
    nixca(['node', 'add', BENCH_NODE, '--dns-suffix', suffix, '--state', stateDir, ...storeArgs(store)]);
    nixca(['node', 'eab', BENCH_NODE, '--out', join(stateDir, 'bench.eab.env'), '--state', stateDir, ...storeArgs(store)]);
  }
  const env = parseEnvFile(readFileSync(join(stateDir, 'bench.eab.env'), 'utf8'));
  return { kid: env.NIXCA_EAB_KEY_ID!, hmacKey: env.NIXCA_EAB_MAC_KEY! };
}

function getStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolvePromise) => {
    const req = https.get(url, { ca, family: 4, timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolvePromise(res.statusCode ?? 0);
    });
    req.on('error', () => resolvePromise(0));
    req.on('timeout', () => req.destroy());
  });
}

export async function startNixca(o: NixcaOptions): Promise<NixcaServer> {
  const log = o.log ?? (() => undefined);
  const suffix = o.namesSuffix ?? DEFAULT_SUFFIX;
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'nixca-bench-'));
  const keep = o.keepState ?? false;
  const eab = prepareState(stateDir, suffix, o.store);
  if (o.seedCerts) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [SEED_MAIN, '--state', stateDir, '--certs', String(o.seedCerts), '--node', BENCH_NODE, '--suffix', suffix], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`seeding failed (exit ${r.status})`);
    log(`seeded ${o.seedCerts} certificates in ${Date.now() - t0} ms: ${r.stdout.trim()}`);
  }
  const logFile = join(stateDir, 'serve.log');
  const resolveArgs = o.names.flatMap((n) => ['--resolve', `${n}=127.0.0.1`]);
  const args = [
    ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []),
    ...(o.nodeArgs ?? []),
    NIXCA_MAIN,
    'serve',
    '--dev',
    '--state',
    stateDir,
    '--listen',
    `127.0.0.1:${o.port}`,
    '--http01-port',
    String(o.http01Port),
    '--eab',
    'required',
    '--log-level',
    o.logLevel ?? 'info',
    // Every flow is a new account from one EAB credential and one address: a load generator,
    // not a fleet. The account-creation limits (RFC 8555 §6.6) are raised for it; the rest stay.
    '--max-accounts-per-eab',
    '1000000',
    '--max-accounts-per-ip',
    '1000000',
    ...resolveArgs,
    ...storeArgs(o.store),
    ...(o.extraArgs ?? []),
  ];
  const directory = `https://localhost:${o.port}/directory`;
  // Where `serve --dev` put the root clients trust: DEVELOPMENT-PKI.json names it.
  const marker = join(stateDir, 'DEVELOPMENT-PKI.json');
  const rootPath = (): string | undefined => {
    if (!existsSync(marker)) return undefined;
    try {
      const root = (JSON.parse(readFileSync(marker, 'utf8')) as { root?: string }).root;
      return root ? resolve(stateDir, root) : undefined;
    } catch {
      return undefined; // being written
    }
  };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const spawnServer = () => {
    const fd = openSync(logFile, 'a');
    child = spawn(process.execPath, args, { cwd: stateDir, stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH } });
    closeSync(fd);
    const c = child;
    exited = new Promise((r) => c.once('exit', () => r()));
  };

  const waitReady = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child?.exitCode !== null && child?.exitCode !== undefined) {
        throw new Error(`nixca serve exited with ${child.exitCode}: see ${logFile}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      }
      const root = rootPath();
      if (root && existsSync(root) && (await getStatus(directory, readFileSync(root))) === 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nixca serve did not answer ${directory} within ${timeoutMs} ms (see ${logFile})`);
  };

  const start = async () => {
    const t0 = Date.now();
    spawnServer();
    try {
      await waitReady();
    } catch (err) {
      // Never leave a server behind that nobody will stop.
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw err;
    }
    log(`nixca serve up (pid ${child!.pid}) in ${Date.now() - t0} ms; state ${stateDir}`);
  };
  try {
    await start();
  } catch (err) {
    // A server that never came up leaves nothing behind but its log, printed in the error.
    if (!keep && !o.stateDir) rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  const rootPem = rootPath()!;

  const server: NixcaServer = {
    target: { label: 'nixca', directory, caFile: rootPem, issuerRoot: rootPem, eab, pid: child!.pid },
    stateDir,
    logFile,
    get pid() {
      return child!.pid!;
    },
    describe() {
      const pid = child!.pid!;
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      let tail: string;
      try {
        tail = readFileSync(logFile, 'utf8').slice(-6000);
      } catch (err) {
        tail = `(no log: ${(err as Error).message})`;
      }
      return `nixca serve (pid ${pid}) ${alive ? 'still runs' : 'is gone'}; its log ends:\n${tail}\n`;
    },
    async restart() {
      await start();
      server.target.pid = child!.pid;
    },
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(so = {}) {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child?.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      if (!(so.keepState ?? keep)) rmSync(stateDir, { recursive: true, force: true });
    },
    waitReady,
  };
  return server;
}
