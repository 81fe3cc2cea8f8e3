// A small fleet built through the real CLI (node add, node eab, key generate/rotate) for the
// emitter tests: it carries every kind of secret the emitter must never write.
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { exportPrivateKeyPem } from '../../src/ca/keys.js';
import { createRoot } from '../../src/ca/root.js';
import { runCli } from '../helpers/cli.js';

export const ACME = 'https://acme.n3x.internal:8443/directory';

export interface Fleet {
  state: string;
  rootPemFile: string;
  /** Secrets that must never appear in emitted files. */
  secrets: { eabMacKey: string; eabKeyId: string; nixSecretKeys: string[]; rootKeyPem: string };
  pub: Record<string, string>;
}

export async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `nixca ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export async function buildFleet(dir: string): Promise<Fleet> {
  const state = join(dir, 'state');
  const s = ['--state', state];
  await mkdir(state, { mode: 0o700 }); // only issuer init / serve --dev make one; the emit tests need no issuer
  await cli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--dns', 'nuc-1.n3x.internal', '--site', 'office', '--priority', '30', ...s]);
  await cli(['node', 'add', 'nuc-2', '--dns', 'cache.nuc-2.n3x.internal', '--priority', '35', ...s]);
  await cli(['node', 'add', 'ci-1', '--dns', 'cache.ci-1.cloud.n3x.internal', ...s]);
  await cli(['node', 'add', 'bench', '--dns-suffix', 'bench.test', ...s]);
  const eabFile = join(dir, 'eab.env');
  await cli(['node', 'eab', 'nuc-1', '--out', eabFile, ...s]);
  const env = await readFile(eabFile, 'utf8');
  const eabMacKey = /NIXCA_EAB_MAC_KEY=(\S+)/.exec(env)![1]!;
  const eabKeyId = /NIXCA_EAB_KEY_ID=(\S+)/.exec(env)![1]!;

  const nixSecretKeys: string[] = [];
  const pub: Record<string, string> = {};
  const gen = async (label: string, args: string[]) => {
    const out = join(dir, `${label}.sec`);
    const r = JSON.parse(await cli(['key', 'generate', ...args, '--secret-out', out, '--json', ...s])) as { key: { name: string; publicKey: string } };
    nixSecretKeys.push(await readFile(out, 'utf8'));
    pub[r.key.name] = r.key.publicKey;
    return r.key.name;
  };
  // nuc-1: key 1 active, key 2 published as next. nuc-2: key 1 active. A shared key, next.
  await gen('nuc-1-a', ['nuc-1']);
  await cli(['key', 'rotate', 'nuc-1', ...s]);
  await gen('nuc-1-b', ['nuc-1']);
  await gen('nuc-2-a', ['nuc-2', '--secret-key-path', '/run/secrets/nix-signing-nuc-2']);
  await cli(['key', 'rotate', 'nuc-2', ...s]);
  await gen('shared', ['--shared', '--name', 'fleet.n3x.internal-1']);

  const root = await createRoot({ commonName: 'n3x test root', permittedDns: ['n3x.internal', 'bench.test'] });
  const rootPemFile = join(dir, 'root.pem');
  await writeFile(rootPemFile, root.certificate.toString('pem'));
  const rootKeyPem = await exportPrivateKeyPem(root.keys.privateKey);
  return { state, rootPemFile, secrets: { eabMacKey, eabKeyId, nixSecretKeys, rootKeyPem }, pub };
}

export function emitArgs(f: Fleet, out: string, extra: string[] = []): string[] {
  return ['nixos', 'emit', '--state', f.state, '--out', out, '--acme-directory', ACME, '--root-cert', f.rootPemFile, ...extra];
}

/** Every file under `dir`, relative path → content. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Lines removed and added between two texts (multiset difference: enough for small edits). */
export function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const count = (lines: string[]) => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const a = count(before.split('\n'));
  const b = count(after.split('\n'));
  const removed: string[] = [];
  const added: string[] = [];
  for (const [l, n] of a) for (let i = 0; i < n - (b.get(l) ?? 0); i++) removed.push(l.trim());
  for (const [l, n] of b) for (let i = 0; i < n - (a.get(l) ?? 0); i++) added.push(l.trim());
  return { removed, added };
}
