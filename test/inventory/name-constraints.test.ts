// `node add` refuses names the installed issuer could never certify (RFC 5280 §4.2.1.10: the
// intermediate's and the root's name constraints), and `nixos emit` never turns such a name into a
// substituter, even when it reached the inventory another way. Real CLI, real certificates.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openInventoryStore } from '../../src/store/inventory.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { testPki } from '../audit/pki.js';
import { installIssuerFiles } from '../status/helpers.js';

const ACME = 'https://acme.n3x.test:8443/directory';

test('node add refuses a name or suffix outside the installed intermediate\'s and root\'s name constraints (exit 8, one line naming the constraint); nixos emit refuses an inventory that holds one', async (t) => {
  const state = await tempDir(t);
  const S = ['--state', state];
  // Before an issuer is installed there is nothing to check against.
  assert.equal((await runCli(['node', 'add', 'early', '--dns', 'cache.early.n3x.test', ...S])).code, 0);
  await installIssuerFiles(state, await testPki(['n3x.test']));

  const google = await spawnCli(['node', 'add', 'evil', '--dns', 'www.google.com', ...S]);
  assert.equal(google.code, 8, google.stderr);
  assert.equal(google.stderr.trim().split('\n').length, 1);
  assert.match(google.stderr, /^nixca: node evil: www\.google\.com is outside the intermediate's permitted DNS names \(n3x\.test\); the issuer could never certify it/);
  const suffix = await runCli(['node', 'add', 'evil', '--dns-suffix', 'google.com', ...S]);
  assert.equal(suffix.code, 8);
  assert.match(suffix.stderr, /DNS suffix google\.com is outside the root's permitted DNS names \(n3x\.test\)|DNS suffix google\.com is outside the intermediate's/);
  const lookalike = await runCli(['node', 'add', 'evil', '--dns', 'cache.evil-n3x.test', '--dns', 'cache.n3x.test.evil.org', ...S]);
  assert.equal(lookalike.code, 8);
  const inv = await (await openInventoryStore(state)).read();
  assert.deepEqual(inv.nodes.map((n) => n.name), ['early'], 'nothing refused reached the inventory');
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.test', '--dns-suffix', 'nuc-1.n3x.test', ...S])).code, 0);

  // An inventory edited by other means (or older than this check) still never emits the name.
  await (await openInventoryStore(state)).update((d) => {
    d.nodes.push({ ...structuredClone(d.nodes[0]!), name: 'legacy', id: 'legacy-id', dnsNames: ['www.google.com'], dnsSuffixes: [] });
  });
  const out = join(state, 'out');
  const emit = await runCli(['nixos', 'emit', ...S, '--out', out, '--acme-directory', ACME]);
  assert.equal(emit.code, 8, emit.stderr);
  assert.match(emit.stderr, /node legacy: www\.google\.com is outside the intermediate's permitted DNS names \(n3x\.test\); it could never get a certificate, so nothing is emitted/);
  assert.equal(await stat(out).then(async () => (await readdir(out)).length, () => 0), 0, 'nothing was written');
  await (await openInventoryStore(state)).update((d) => {
    d.nodes = d.nodes.filter((n) => n.name !== 'legacy');
  });
  const ok = await runCli(['nixos', 'emit', ...S, '--out', out, '--acme-directory', ACME, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const substituters = (JSON.parse(ok.stdout) as { nodes: { substituter: string | null }[] }).nodes.map((n) => n.substituter);
  assert.deepEqual(substituters, ['https://cache.early.n3x.test?priority=40', 'https://cache.nuc-1.n3x.test?priority=40']);
});
