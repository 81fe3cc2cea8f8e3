// Only commands that create state create a state directory: every other command refuses a --state
// (or $NIXCA_STATE_DIR) that does not exist with one line naming the path and the command that
// makes one, exit 4 (not-found), and leaves no directory behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, spawnCli, tempDir, type CliResult } from '../helpers/cli.js';

const COMMANDS: string[][] = [
  ['node', 'list'],
  ['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal'],
  ['node', 'show', 'nuc-1'],
  ['node', 'eab', 'nuc-1', '--out', 'eab.env'],
  ['node', 'remove', 'nuc-1'],
  ['status'],
  ['cert', 'list'],
  ['account', 'list'],
  ['audit', 'verify'],
  ['audit', 'show'],
  ['audit', 'head'],
  ['key', 'status'],
  ['key', 'generate', 'nuc-1', '--secret-out', 'k.sec'],
  ['key', 'rotate', 'nuc-1'],
  ['renew-now', 'nuc-1'],
  ['nixos', 'emit', '--acme-directory', 'https://acme.n3x.internal/directory', '--out', 'nixos'],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('commands that do not create state refuse a missing --state and create nothing', async (t) => {
  const dir = await tempDir(t, 'nixca-nostate-');
  const missing = join(dir, 'typo');
  for (const args of COMMANDS) {
    const r = await runCli([...args, '--state', missing], { cwd: dir });
    const what = `nixca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`;
    assert.equal(r.code, 4, what);
    assert.equal(r.stderr.trim().split('\n').length, 1, what);
    assert.match(r.stderr, new RegExp(`^nixca: no nixca state directory at ${escape(missing)}; create one with \`nixca issuer init --state ${escape(missing)}\``), what);
    await assert.rejects(stat(missing), { code: 'ENOENT' }, `${what}: created ${missing}`);
    await assert.rejects(stat(join(dir, 'nixos')), { code: 'ENOENT' });
  }
});

/** The CLI as a real process run as `nobody` (setpriv drops root). */
function asNobody(args: readonly string[], cwd: string): Promise<CliResult> {
  return spawnCli(args, { cwd, asUid: 65534 });
}

test('a user who may not enter the state directory is refused by every command, readers too: exit 6, one line, nothing changed', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run commands as nobody');
  const dir = await tempDir(t, 'nixca-denied-');
  await chmod(dir, 0o755);
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o700 });
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--state', state])).code, 0);
  const before = await readFile(join(state, 'inventory.json'), 'utf8');
  // Commands run from a directory nobody may write, so a refused one cannot leave files there either.
  for (let i = 0; i < COMMANDS.length; i += 4) {
    await Promise.all(COMMANDS.slice(i, i + 4).map(async (args) => {
      const r = await asNobody([...args, '--state', state], dir);
      const what = `nixca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`;
      assert.equal(r.code, 6, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, what);
      assert.match(r.stderr, /^nixca: permission denied: .* root and the issuer's own user/, what);
    }));
  }
  assert.equal(await readFile(join(state, 'inventory.json'), 'utf8'), before);
  // A --state whose parent is closed to the user (it may not even stat it): the same refusal.
  const parent = join(dir, 'closed');
  await mkdir(parent, { mode: 0o700 });
  const hidden = join(parent, 'state');
  await mkdir(hidden, { mode: 0o700 });
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--state', hidden])).code, 0);
  for (const args of [['node', 'list'], ['cert', 'list'], ['status'], ['audit', 'verify']]) {
    const r = await asNobody([...args, '--state', hidden], dir);
    const what = `nixca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`;
    assert.equal(r.code, 6, what);
    assert.match(r.stderr, /^nixca: permission denied: .* root and the issuer's own user/, what);
  }
});

test('the default state directory ($NIXCA_STATE_DIR) is refused the same way', async (t) => {
  const dir = await tempDir(t, 'nixca-nostate-env-');
  const missing = join(dir, 'var-lib-nixca');
  const r = await runCli(['node', 'list'], { env: { NIXCA_STATE_DIR: missing } });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`no nixca state directory at ${escape(missing)}`));
  await assert.rejects(stat(missing), { code: 'ENOENT' });
  // A file where the directory should be is refused too, not mistaken for state.
  const file = join(dir, 'file');
  await writeFile(file, 'x');
  const f = await runCli(['node', 'list', '--state', file]);
  assert.equal(f.code, 4, f.stderr);
  assert.match(f.stderr, /is not a directory/);
});

test('issuer init creates the state directory it names', async (t) => {
  const dir = await tempDir(t, 'nixca-init-state-');
  const state = join(dir, 'new-state');
  const pass = join(dir, 'pass');
  await writeFile(pass, 'correct horse battery staple\n', { mode: 0o600 });
  const r = await runCli(['issuer', 'init', '--name', 'n3x Issuing CA 1', '--state', state, '--passphrase-file', pass], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await stat(state)).isDirectory());
  const list = await runCli(['node', 'list', '--json', '--state', state]);
  assert.equal(list.code, 0, list.stderr);
});
