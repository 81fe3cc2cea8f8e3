import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAudit } from '../../src/audit/log.js';
import { auditedInventory } from '../../src/audit/signing-keys.js';
import { openInventoryStore } from '../../src/store/inventory.js';
import { generateKeyPair } from '../../src/signing/keys.js';
import { tempDir } from '../helpers/cli.js';

test('every signing-key transition made through an audited inventory is recorded, secrets never', async (t) => {
  const dir = await tempDir(t);
  const inv = auditedInventory(await openInventoryStore(dir), dir);
  const kp = generateKeyPair('cache.nuc-1.n3x.test-1');
  await inv.update((d) => {
    d.signingKeys.push({ name: kp.name, node: 'nuc-1', publicKey: kp.publicKey, secretKeyPath: '/run/agenix/k', origin: 'generated', state: 'next', history: [{ at: '2026-11-22T00:00:00.000Z', from: null, to: 'next', reason: 'generated' }] });
  });
  await inv.update((d) => {
    const k = d.signingKeys[0]!;
    k.history.push({ at: '2026-11-23T00:00:00.000Z', from: 'next', to: 'active', reason: 'rotate' });
    k.state = 'active';
  });
  await inv.update(() => undefined); // no transition, no entry
  // A refused update (throws) records nothing.
  await assert.rejects(inv.update((d) => {
    d.signingKeys[0]!.history.push({ at: '2026-11-24T00:00:00.000Z', from: 'active', to: 'revoked', reason: 'x' });
    throw new Error('policy says no');
  }));
  const { records } = await readAudit(dir);
  assert.deepEqual(records.map((r) => [r.type, r.subject, r.details.from, r.details.to]), [
    ['audit.init', 'audit', undefined, undefined],
    ['signing-key.transition', kp.name, null, 'next'],
    ['signing-key.transition', kp.name, 'next', 'active'],
  ]);
  assert.equal(records[2]!.node, 'nuc-1');
  assert.equal(records[2]!.time, '2026-11-23T00:00:00.000Z');
  assert.ok(!JSON.stringify(records).includes(kp.secretKey.split(':')[1]!));
  assert.equal((await inv.read()).signingKeys[0]!.state, 'active');
});
