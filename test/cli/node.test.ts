import assert from 'node:assert/strict';
import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';

test('node add/list/show/remove through the CLI, with --json and one-line errors', async (t) => {
  const state = await tempDir(t);
  const add = await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--site', 'office', '--priority', '30', '--state', state, '--json']);
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual(JSON.parse(add.stdout).dnsNames, ['cache.nuc-1.n3x.internal']);

  const dup = await runCli(['node', 'add', 'nuc-2', '--dns', 'cache.nuc-1.n3x.internal', '--state', state]);
  assert.equal(dup.code, 5);
  assert.equal(dup.stderr.trim().split('\n').length, 1);
  assert.match(dup.stderr, /already belongs to node nuc-1/);

  const bad = await runCli(['node', 'add', 'nuc-2', '--dns', 'bad name', '--state', state]);
  assert.equal(bad.code, 3);

  const list = await runCli(['node', 'list', '--state', state, '--json']);
  assert.deepEqual(JSON.parse(list.stdout).map((n: { name: string }) => n.name), ['nuc-1']);

  const missing = await runCli(['node', 'show', 'nope', '--state', state]);
  assert.equal(missing.code, 4);

  const rm = await runCli(['node', 'remove', 'nuc-1', '--state', state]);
  assert.equal(rm.code, 0);
  assert.deepEqual(JSON.parse((await runCli(['node', 'list', '--state', state, '--json'])).stdout), []);
});

test('node eab writes a 0600 env file and never prints the MAC key', async (t) => {
  const state = await tempDir(t);
  await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--state', state]);
  const out = join(state, 'eab.env');
  const r = await runCli(['node', 'eab', 'nuc-1', '--out', out, '--state', state]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  const env = await readFile(out, 'utf8');
  const mac = /NIXCA_EAB_MAC_KEY=(\S+)/.exec(env)![1]!;
  assert.equal(Buffer.from(mac, 'base64url').length, 32);
  assert.ok(!r.stdout.includes(mac) && !r.stderr.includes(mac));
  const shown = await runCli(['node', 'show', 'nuc-1', '--state', state, '--json']);
  assert.ok(!shown.stdout.includes(mac));
  const rotated = await runCli(['node', 'eab', 'nuc-1', '--rotate', '--out', out, '--state', state]);
  assert.equal(rotated.code, 0);
  assert.notEqual(/NIXCA_EAB_MAC_KEY=(\S+)/.exec(await readFile(out, 'utf8'))![1], mac);
});

test('a real process: --version, unknown command exit code 2, one line on stderr', async () => {
  const v = await spawnCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const u = await spawnCli(['frobnicate']);
  assert.equal(u.code, 2);
  assert.equal(u.stderr.trim().split('\n').length, 1);
});
