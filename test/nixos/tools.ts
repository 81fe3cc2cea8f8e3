// Real nix (Debian nix-bin 2.8) and caddy (2.6.2), run with execFile, a timeout, and HOME/XDG/
// NIX_CONF_DIR in a throw-away directory so that nothing of the machine's config leaks in or out.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/nixos/ in the source tree (the .nix harness is not compiled into dist/). */
export const HARNESS_DIR = resolve(fileURLToPath(import.meta.url), '../../../../test/nixos');
export const HARNESS = join(HARNESS_DIR, 'harness.nix');
export const NIX_MODULE = resolve(HARNESS_DIR, '../../nix-module/nixca.nix');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function sandboxEnv(dir: string, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  for (const d of ['home', 'config', 'cache', 'data', 'nix-conf']) await mkdir(join(dir, d), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_DATA_HOME: join(dir, 'data'),
    NIX_CONF_DIR: join(dir, 'nix-conf'),
    NIX_USER_CONF_FILES: join(dir, 'nix-conf', 'none.conf'),
    ...extra,
  };
}

export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((done, fail) => {
    execFile(cmd, [...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(new Error(`${cmd} did not run: ${err.message}`));
      done({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/**
 * nix-instantiate with the `dummy://` store: parsing and evaluating need no store, and without it a
 * normal user's nix 2.8 tries the root-owned daemon socket. (--eval never writes to the store.)
 */
export function nixInstantiate(args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return run('nix-instantiate', ['--store', 'dummy://', ...args], env);
}

/** `nix-instantiate --eval --strict --json` of an expression; throws with nix's stderr on failure. */
/**
 * `storeRoot`: files the expression makes (builtins.toFile, pkgs.formats.*.generate) are written to
 * a throw-away local store there (a /nix/store/… path P is then the file storeRoot + P).
 */
export async function nixEval(env: NodeJS.ProcessEnv, expr: string, opts: { storeRoot?: string } = {}): Promise<unknown> {
  const write = opts.storeRoot ? ['--read-write-mode', '--store', opts.storeRoot] : [];
  const r = await nixInstantiate(['--eval', '--strict', '--json', ...write, '--expr', expr], env);
  if (r.code !== 0) throw new Error(`nix-instantiate failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** Like nixEval, but returns nix's error text (for expected failures). */
export async function nixEvalError(env: NodeJS.ProcessEnv, expr: string): Promise<string> {
  const r = await nixInstantiate(['--eval', '--strict', '--json', '--expr', expr], env);
  if (r.code === 0) throw new Error(`expected evaluation to fail, got ${r.stdout}`);
  return r.stderr;
}

/** A Nix string literal for test expressions (JSON strings are Nix strings once `$` is escaped). */
export function nixLit(s: string): string {
  return JSON.stringify(s).replace(/\$/g, '\\$');
}

export interface HarnessArgs {
  modules: readonly string[];
  config?: unknown;
  /** nixpkgs' Harmonia module: flat names with signKeyPaths (24.11-25.11), services.harmonia.cache.* (after), flat with only signKeyPath (before 24.11). */
  harmonia?: 'flat' | 'cache' | 'single-key';
  /** nixpkgs' postgresql module: with postgresql.target and postgresql-setup.service (25.11 on), or without. */
  postgresql?: 'setup' | 'service';
}

/** An expression evaluating `select` (a Nix function of the harness result) over `args`. */
export function harnessExpr(args: HarnessArgs, select: string): string {
  const h = `import ${nixLit(HARNESS)} { modulesJson = ${nixLit(JSON.stringify(args.modules))}; configJson = ${nixLit(JSON.stringify(args.config ?? {}))}; harmonia = ${nixLit(args.harmonia ?? 'flat')}; postgresql = ${nixLit(args.postgresql ?? 'setup')}; }`;
  return `let h = ${h}; in h.show ((${select}) h)`;
}
