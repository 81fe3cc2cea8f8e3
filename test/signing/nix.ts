// Runs Debian's nix-bin (2.8) for interop tests: no daemon, throw-away stores (`--store DIR`),
// HOME/XDG dirs and nix.conf in a temp dir so nothing of the machine's Nix is read or touched.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface NixResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NixEnv {
  /** Root of this test file's sandbox. */
  dir: string;
  run(cmd: 'nix' | 'nix-store', args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<NixResult>;
  /** Like run, but throws with nix's stderr unless it exits 0. */
  ok(cmd: 'nix' | 'nix-store', args: readonly string[], opts?: { input?: string }): Promise<string>;
}

export async function nixEnv(dir: string): Promise<NixEnv> {
  const confDir = join(dir, 'nix-conf');
  await mkdir(confDir, { recursive: true });
  // No substituters: otherwise nix tries https://cache.nixos.org for anything it cannot find.
  // `store`: commands without --store (nix-store --generate-binary-cache-key opens one too) use a
  // throw-away chroot store instead of /nix/store or the daemon (not reachable as a normal user).
  await writeFile(join(confDir, 'nix.conf'), `experimental-features = nix-command\nsubstituters =\nsandbox = false\nstore = ${join(dir, 'default-store')}\n`);
  let calls = 0;
  const run: NixEnv['run'] = async (cmd, args, opts = {}) => {
    // A fresh cache dir per call: nix keeps narinfos it has seen in $XDG_CACHE_HOME/nix, and tests
    // change narinfo files between calls.
    const cache = await mkdtemp(join(dir, `xdg-cache-${calls++}-`));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(dir, 'home'),
      XDG_CACHE_HOME: cache,
      XDG_CONFIG_HOME: join(dir, 'xdg-config'),
      XDG_DATA_HOME: join(dir, 'xdg-data'),
      XDG_STATE_HOME: join(dir, 'xdg-state'),
      NIX_CONF_DIR: confDir,
      NIX_USER_CONF_FILES: join(confDir, 'none.conf'),
    };
    return new Promise<NixResult>((resolve, reject) => {
      const child = spawn(cmd, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
      child.stdin.end(opts.input ?? '');
    });
  };
  return {
    dir,
    run,
    async ok(cmd, args, opts) {
      const r = await run(cmd, args, opts);
      if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
  };
}
