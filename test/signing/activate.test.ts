// `key generate --activate` / `key import --activate`: a node (or the fleet) that publishes no key
// gets an active key in one step; with a key already published the step is refused and the
// rotation command is named. Through the real CLI binary for the one-step path.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPair } from '../../src/signing/keys.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';

test('key generate --activate: a first key goes straight to active; audited as next then active', async (t) => {
  const state = await tempDir(t, 'nixca-activate-');
  const S = ['--state', state];
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', ...S])).code, 0);
  const sec = join(state, 'nuc-1.sec');
  const g = await spawnCli(['key', 'generate', 'nuc-1', '--activate', '--secret-out', sec, ...S, '--json']);
  assert.equal(g.code, 0, g.stderr);
  const key = JSON.parse(g.stdout).key;
  assert.equal(key.state, 'active');
  assert.deepEqual(key.history.map((h: { from: string | null; to: string }) => [h.from, h.to]), [[null, 'next'], ['next', 'active']]);
  assert.equal((await stat(sec)).mode & 0o777, 0o600);
  // What the NixOS output carries: Harmonia signs with it, clients trust it.
  const st = JSON.parse((await runCli(['key', 'status', 'nuc-1', '--json', ...S])).stdout);
  assert.deepEqual(st.nodes[0].signKeyPaths, [key.secretKeyPath]);
  assert.deepEqual(st.nodes[0].trustedPublicKeys, [key.publicKey]);
  const audit = JSON.parse((await runCli(['audit', 'show', '--node', 'nuc-1', '--json', ...S])).stdout) as { type: string; details: { to?: string } }[];
  assert.deepEqual(audit.filter((e) => e.type === 'signing-key.transition').map((e) => e.details.to), ['next', 'active']);
  // Text output says it signs, not "run key rotate".
  assert.equal((await runCli(['node', 'add', 'nuc-2', '--dns', 'cache.nuc-2.n3x.internal', ...S])).code, 0);
  const text = await runCli(['key', 'generate', 'nuc-2', '--activate', '--secret-out', join(state, 'nuc-2.sec'), ...S]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /state active \(published and signing\)/);
  assert.doesNotMatch(text.stdout, /key rotate/);
});

test('--activate is refused once a key is published (next, active or retiring), naming key rotate; nothing is written', async (t) => {
  const state = await tempDir(t, 'nixca-activate-refused-');
  const S = ['--state', state];
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', ...S])).code, 0);
  // A next key only (published, not signing): --activate would skip the pre-publication.
  assert.equal((await runCli(['key', 'generate', 'nuc-1', '--secret-out', join(state, 'a.sec'), ...S])).code, 0);
  const before = await readFile(join(state, 'inventory.json'), 'utf8');
  const sec = join(state, 'b.sec');
  const r = await spawnCli(['key', 'generate', 'nuc-1', '--activate', '--secret-out', sec, ...S]);
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /node nuc-1 already publishes key cache\.nuc-1\.n3x\.internal-1 \(next\); --activate is only for a first key: rotate with `nixca key rotate nuc-1`/);
  await assert.rejects(stat(sec), { code: 'ENOENT' });
  assert.equal(await readFile(join(state, 'inventory.json'), 'utf8'), before);
  // Same for an imported key and for the shared scope once it has one.
  const pub = generateKeyPair('cache.nuc-1.n3x.internal-9').publicKey;
  assert.equal((await runCli(['key', 'import', 'nuc-1', '--activate', '--public', pub, ...S])).code, 5);
  const shared = await runCli(['key', 'import', '--shared', '--activate', '--public', generateKeyPair('fleet-1').publicKey, ...S, '--json']);
  assert.equal(shared.code, 0, shared.stderr);
  assert.equal(JSON.parse(shared.stdout).key.state, 'active');
  const again = await runCli(['key', 'import', '--shared', '--activate', '--public', generateKeyPair('fleet-2').publicKey, ...S]);
  assert.equal(again.code, 5);
  assert.match(again.stderr, /the shared fleet key already publishes key fleet-1 \(active\).*`nixca key rotate --shared`/);
});
