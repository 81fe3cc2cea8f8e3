import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addNode, ensureEab, nodeOwns, ownerOf, removeNode } from '../../src/inventory/inventory.js';
import { emptyInventory } from '../../src/inventory/model.js';
import { isValidDnsName } from '../../src/inventory/names.js';
import type { InventoryError } from '../../src/inventory/errors.js';

const now = new Date('2026-11-22T00:00:00Z');

test('a node owns its exact names and every name strictly under its suffixes', () => {
  const d = emptyInventory();
  addNode(d, { name: 'nuc-1', dnsNames: ['Cache.NUC-1.n3x.internal.'] }, now);
  addNode(d, { name: 'bench', dnsSuffixes: ['bench.test'] }, now);
  assert.equal(ownerOf(d, 'cache.nuc-1.n3x.internal')?.name, 'nuc-1');
  assert.equal(ownerOf(d, 'a.b.bench.test')?.name, 'bench');
  assert.equal(ownerOf(d, 'bench.test'), undefined);
  assert.equal(ownerOf(d, 'evilbench.test'), undefined);
  assert.equal(nodeOwns(d.nodes[1]!, 'cache.nuc-1.n3x.internal'), true);
  assert.equal(nodeOwns(d.nodes[0]!, 'cache.nuc-1.n3x.internal'), false);
});

test('invalid, duplicate and already-owned names are refused and change nothing', () => {
  const d = emptyInventory();
  addNode(d, { name: 'nuc-1', dnsNames: ['cache.nuc-1.n3x.internal'] }, now);
  const before = JSON.stringify(d);
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as InventoryError).code;
    }
    return 'no error';
  };
  assert.equal(code(() => addNode(d, { name: 'nuc-1', dnsNames: ['x.n3x.internal'] }, now)), 'INVENTORY_NODE_EXISTS');
  assert.equal(code(() => addNode(d, { name: 'nuc-2', dnsNames: ['cache.nuc-1.n3x.internal'] }, now)), 'INVENTORY_NAME_OWNED');
  assert.equal(code(() => addNode(d, { name: 'Nuc 2', dnsNames: ['a.n3x.internal'] }, now)), 'INVENTORY_NAME_INVALID');
  assert.equal(code(() => addNode(d, { name: 'nuc-2', dnsNames: ['a"b.n3x.internal'] }, now)), 'INVENTORY_NAME_INVALID');
  assert.equal(code(() => addNode(d, { name: 'nuc-2', dnsNames: ['${x}.internal'] }, now)), 'INVENTORY_NAME_INVALID');
  assert.equal(code(() => addNode(d, { name: 'nuc-2' }, now)), 'INVENTORY_NAME_INVALID');
  assert.equal(code(() => removeNode(d, 'nope')), 'INVENTORY_NODE_UNKNOWN');
  assert.equal(JSON.stringify(d), before);
});

test('host name rules', () => {
  for (const ok of ['a.b', 'cache.nuc-1.n3x.internal', 'x1.example.com']) assert.ok(isValidDnsName(ok), ok);
  for (const bad of ['', 'single', '-a.b', 'a-.b', 'a..b', 'a.b.', '*.a.b', '10.0.0.1', 'a b.c', 'a\n.b', 'x'.repeat(64) + '.b']) {
    assert.ok(!isValidDnsName(bad), JSON.stringify(bad));
  }
});

test('EAB credentials: 256-bit MAC key, stable until rotated', () => {
  const d = emptyInventory();
  addNode(d, { name: 'nuc-1', dnsNames: ['cache.nuc-1.n3x.internal'] }, now);
  const first = ensureEab(d, 'nuc-1', now);
  assert.equal(first.created, true);
  const firstKeyId = first.node.eab!.keyId;
  assert.equal(Buffer.from(first.node.eab!.macKey, 'base64url').length, 32);
  const again = ensureEab(d, 'nuc-1', now);
  assert.equal(again.created, false);
  const rotated = ensureEab(d, 'nuc-1', now, true);
  assert.equal(rotated.created, true);
  assert.notEqual(rotated.node.eab!.keyId, firstKeyId);
});
