// Real-process helpers for the interop tests: a `nixca serve` child on loopback (with a development
// PKI in a temp dir), real clients run with hard timeouts, and openssl checks. Every process is
// started in its own process group and killed (group-wide) when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { after } from 'node:test';
import { NIXCA_BIN, runCli } from '../helpers/cli.js';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Every child these tests start, killed (process group) when the file's tests end even if a test
 * failed before its own cleanup ran: a leaked child holding a pipe would keep the runner alive.
 */
const children = new Set<ChildProcess>();
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
after(() => {
  for (const c of children) killGroup(c);
});

/** Kills the whole process group of a child started with `detached: true`. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** Runs a command to completion with a hard timeout (the process group is killed on expiry). */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; input?: string }): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true }));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    // A tool that exits before reading its input (openssl on a failed handshake) must not crash us.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}

/** Fails (does not skip) when a required tool is missing: CI installs them (.ci/run). */
export async function requireTool(cmd: string, versionArgs: string[] = ['--version']): Promise<void> {
  try {
    await run(cmd, versionArgs, { timeoutMs: 20_000 });
  } catch (err) {
    throw new Error(`${cmd} is not installed (${(err as Error).message}); .ci/run installs it from Debian`, { cause: err });
  }
}

export interface Issuer {
  state: string;
  port: number;
  directory: string;
  rootPath: string;
  child: ChildProcess;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface IssuerOptions {
  state: string;
  port: number;
  http01Port?: number;
  tlsAlpn01Port?: number;
  /** Names the validator resolves to 127.0.0.1. */
  names: readonly string[];
  extraArgs?: readonly string[];
  readyTimeoutMs?: number;
}

/** GETs a URL over HTTPS trusting only `ca`; resolves with the status or rejects. */
export function httpsGet(url: string, ca: string, timeoutMs = 2000, connectTo?: { host: string; port: number }): Promise<{ status: number; body: string; peerSerial?: string }> {
  return new Promise((resolve, reject) => {
    // connectTo: reach a --base-url name that only exists for clients (behind a proxy) on loopback.
    const u = new URL(url);
    const req = request({
      host: connectTo?.host ?? u.hostname,
      port: connectTo?.port ?? u.port,
      path: u.pathname + u.search,
      servername: u.hostname,
      headers: { Host: u.host },
      ca,
      timeout: timeoutMs,
      agent: false,
    }, (res) => {
      let body = '';
      const peer = (res.socket as TLSSocket).getPeerCertificate?.();
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peerSerial: peer?.serialNumber?.toLowerCase() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Starts `nixca serve --dev --state DIR` (development PKI, created on first start) and waits for the directory. */
export async function startIssuer(t: { after(fn: () => unknown): void }, o: IssuerOptions): Promise<Issuer> {
  const args = [
    NIXCA_BIN, 'serve', '--dev', '--state', o.state, '--listen', `127.0.0.1:${o.port}`,
    '--http01-port', String(o.http01Port ?? 80), '--tls-alpn01-port', String(o.tlsAlpn01Port ?? 443),
    '--validation-timeout', '3s',
    ...o.names.flatMap((n) => ['--resolve', `${n}=127.0.0.1`]),
    ...(o.extraArgs ?? []),
  ];
  const child = track(spawn(process.execPath, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  t.after(() => killGroup(child));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const directory = `https://localhost:${o.port}/directory`;
  const rootPath = join(o.state, 'issuer', 'root.pem');
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nixca serve exited with ${child.exitCode} before it was ready:\n${log}`);
    try {
      const ca = await readFile(rootPath, 'utf8');
      const r = await httpsGet(directory, ca);
      if (r.status === 200) break;
    } catch {
      /* not ready yet */
    }
    if (Date.now() > deadline) {
      killGroup(child);
      throw new Error(`nixca serve did not answer ${directory} in time:\n${log}`);
    }
    await sleep(200);
  }
  return {
    state: o.state,
    port: o.port,
    directory,
    rootPath,
    child,
    log: () => log,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => killGroup(child), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Adds a node owning `names` and returns its EAB credential (kid, base64url HMAC key). */
export async function addNodeWithEab(state: string, node: string, names: readonly string[]): Promise<{ kid: string; hmac: string; envFile: string }> {
  // The tests add nodes before serve --dev first runs; node add itself never creates a state directory.
  await mkdir(state, { recursive: true, mode: 0o700 });
  const add = await runCli(['node', 'add', node, ...names.flatMap((n) => ['--dns', n]), '--state', state]);
  if (add.code !== 0) throw new Error(`node add failed: ${add.stderr}`);
  const envFile = join(state, `${node}.eab.env`);
  const eab = await runCli(['node', 'eab', node, '--out', envFile, '--state', state]);
  if (eab.code !== 0) throw new Error(`node eab failed: ${eab.stderr}`);
  const text = await readFile(envFile, 'utf8');
  const kid = /^NIXCA_EAB_KEY_ID=(.*)$/m.exec(text)?.[1];
  const hmac = /^NIXCA_EAB_MAC_KEY=(.*)$/m.exec(text)?.[1];
  if (!kid || !hmac) throw new Error(`unexpected EAB env file: ${envFile}`);
  return { kid, hmac, envFile };
}

/** `openssl verify` of a leaf against the root with the intermediates as untrusted. Throws with openssl's words. */
export async function opensslVerify(rootPath: string, leafPath: string, chainPath: string): Promise<void> {
  const r = await run('openssl', ['verify', '-CAfile', rootPath, '-untrusted', chainPath, '-purpose', 'sslserver', leafPath], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`openssl verify failed: ${r.stdout}${r.stderr}`);
}

/** The certificate fields openssl prints (serial, subjectAltName, notAfter). */
export async function opensslText(certPath: string): Promise<{ serial: string; san: string; notAfter: Date }> {
  const r = await run('openssl', ['x509', '-in', certPath, '-noout', '-serial', '-enddate', '-ext', 'subjectAltName'], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`openssl x509 failed: ${r.stderr}`);
  return {
    serial: (/serial=([0-9A-F]+)/i.exec(r.stdout)?.[1] ?? '').toLowerCase(),
    san: /DNS:[^\n]*/.exec(r.stdout)?.[0] ?? '',
    notAfter: new Date(/notAfter=(.*)/.exec(r.stdout)?.[1] ?? ''),
  };
}
