// The inventory store's reader: another process's change (a CLI write) is seen on a later read;
// with recheckMs the file is looked at no more often than that; this handle's own updates at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openInventoryStore } from '../../src/store/inventory.js';
import { runCli } from '../helpers/cli.js';

test('inventory reader: recheckMs bounds how often the file is looked at; own updates are seen at once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nixca-inv-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await openInventoryStore(dir, { recheckMs: 2000 });
  const cli = await openInventoryStore(dir);
  assert.equal((await server.read()).nodes.length, 0);
  await server.update((d) => void d.nodes.push({ name: 'own' } as never));
  assert.deepEqual((await server.read()).nodes.map((n) => n.name), ['own'], 'own update at once');
  await cli.update((d) => void d.nodes.push({ name: 'other' } as never));
  assert.deepEqual((await server.read()).nodes.map((n) => n.name), ['own'], 'within recheckMs the file is not looked at');
  await sleep(2100);
  assert.deepEqual((await server.read()).nodes.map((n) => n.name), ['own', 'other'], 'seen after recheckMs');
  await server.update((d) => void d.nodes.pop());
  assert.deepEqual((await cli.read()).nodes.map((n) => n.name), ['own'], 'a reader without recheckMs sees every change');
});

test('a damaged inventory.json (cut, empty) is refused naming the file, exit 7, and left as it is; never replaced by an empty inventory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nixca-inv-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o700 });
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--state', state])).code, 0);
  const file = join(state, 'inventory.json');
  const whole = await readFile(file, 'utf8');
  for (const damaged of [whole.slice(0, whole.length >> 1), '']) {
    await writeFile(file, damaged);
    for (const args of [['node', 'list'], ['status'], ['node', 'add', 'nuc-2', '--dns', 'cache.nuc-2.n3x.internal']]) {
      const r = await runCli([...args, '--state', state]);
      assert.equal(r.code, 7, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /inventory\.json is not valid JSON \(.+\); nothing was changed/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(await readFile(file, 'utf8'), damaged, `${args.join(' ')} changed the damaged file`);
    }
    await assert.rejects(openInventoryStore(state).then((s) => s.read()), (e: Error & { kind?: string }) => e.kind === 'io' && e.message.includes(file));
  }
});
