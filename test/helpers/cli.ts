// Drive the CLI in-process (fast, captured output) or as a real process (exit codes, signals).
import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../cli/main.js';
import type { Io } from '../../cli/io.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Answers to no-echo prompts, in order; makes the Io interactive. */
  prompts?: string[];
  now?: () => Date;
}

export async function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const answers = [...(opts.prompts ?? [])];
  const io: Io = {
    out: (t) => void (stdout += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => void (stderr += t.endsWith('\n') ? t : t + '\n'),
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    interactive: opts.prompts !== undefined,
    promptSecret: async () => {
      const a = answers.shift();
      if (a === undefined) throw new Error('test: no more prompt answers');
      return a;
    },
    now: opts.now ?? (() => new Date()),
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

/** dist/cli/main.js, for tests that need a real process. */
export const NIXCA_BIN = resolve(fileURLToPath(import.meta.url), '../../../cli/main.js');

/** The CLI as a real process; with `asUid`, as that user (setpriv drops root's ids and groups). */
export function spawnCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; asUid?: number } = {}): Promise<CliResult> {
  const argv = [process.execPath, NIXCA_BIN, ...args];
  if (opts.asUid !== undefined) argv.unshift('setpriv', `--reuid=${opts.asUid}`, `--regid=${opts.asUid}`, '--clear-groups');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A fresh temporary directory, removed when the test ends. */
export async function tempDir(t: { after(fn: () => unknown): void }, prefix = 'nixca-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `n` distinct loopback ports nothing listens on right now: all are held open together while the
 * kernel picks them (port 0), so no two are the same, then closed for the caller's servers.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const { createServer } = await import('node:net');
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<Server>((resolvePromise, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, host, () => resolvePromise(srv));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * A loopback TCP port nothing listens on right now (the kernel picks it: listen on port 0, read
 * the port, close). For servers that must be told their port on the command line.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePromise(port));
    });
  });
}
