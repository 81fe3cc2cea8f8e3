// The inventory store's reader: another process's change (a CLI write) is seen on a later read;
// with recheckMs the file is looked at no more often than that; this handle's own updates at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openInventoryStore } from '../../src/store/inventory.js';

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
