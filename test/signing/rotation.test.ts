// The key-state machine as pure functions on an inventory document (no files, no CLI).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addNode } from '../../src/inventory/inventory.js';
import { emptyInventory, type InventoryData } from '../../src/inventory/model.js';
import { publishedKeysFor, signingKeysFor, signKeyPathsFor } from '../../src/inventory/signing-keys.js';
import { SigningError } from '../../src/signing/errors.js';
import { generateKeyPair } from '../../src/signing/keys.js';
import { addKey, applyRotation, defaultHost, nextKeyName, planRotation, revokeKey, type RotatePolicy } from '../../src/signing/rotation.js';

const code = (c: string) => (e: unknown) => e instanceof SigningError && e.code === c;
const T0 = new Date('2026-01-01T00:00:00Z');
const later = (h: number) => new Date(T0.getTime() + h * 3_600_000);
const POLICY: RotatePolicy = { minPrepublishMs: 24 * 3_600_000, minOverlapMs: 24 * 3_600_000, overlapSigning: false, force: false };

function fleet(): InventoryData {
  const d = emptyInventory();
  addNode(d, { name: 'nuc-1', dnsNames: ['cache.nuc-1.n3x.internal'] }, T0);
  addNode(d, { name: 'ci', dnsSuffixes: ['ci.n3x.internal'] }, T0);
  return d;
}

function add(d: InventoryData, name: string, scope: string | null = 'nuc-1', at = T0) {
  return addKey(d, { publicKey: generateKeyPair(name).publicKey, scope, secretKeyPath: `/run/agenix/nix-signing-${name}`, origin: 'generated', reason: 'test' }, at);
}

test('key names: <host>-<n>, n one more than ever used (revoked included), host from the first DNS name', () => {
  const d = fleet();
  assert.equal(defaultHost(d, 'nuc-1'), 'cache.nuc-1.n3x.internal');
  assert.throws(() => defaultHost(d, 'ci'), code('SIGNING_NO_HOST'));
  assert.equal(nextKeyName(d, 'cache.nuc-1.n3x.internal'), 'cache.nuc-1.n3x.internal-1');
  add(d, 'cache.nuc-1.n3x.internal-4');
  revokeKey(d, 'cache.nuc-1.n3x.internal-4', 'test', T0);
  assert.equal(nextKeyName(d, 'cache.nuc-1.n3x.internal'), 'cache.nuc-1.n3x.internal-5');
  // Another host with a common prefix does not count.
  add(d, 'cache.nuc-1.n3x.internal-x-9', null);
  assert.equal(nextKeyName(d, 'cache.nuc-1.n3x.internal'), 'cache.nuc-1.n3x.internal-5');
});

test('planRotation: finish retiring first, then promote, else create', () => {
  const d = fleet();
  assert.deepEqual(planRotation(d, 'nuc-1'), { action: 'create-next', scope: 'nuc-1' });
  add(d, 'k-1');
  assert.equal(planRotation(d, 'nuc-1').action, 'promote');
  applyRotation(d, planRotation(d, 'nuc-1'), POLICY, T0); // first key: no waiting
  add(d, 'k-2', 'nuc-1', T0);
  assert.throws(() => applyRotation(d, planRotation(d, 'nuc-1'), POLICY, later(1)), code('SIGNING_ROTATION_UNSAFE'));
  applyRotation(d, planRotation(d, 'nuc-1'), POLICY, later(24));
  add(d, 'k-3', 'nuc-1', later(24));
  // A next key exists, but the retiring one is retired first: never two retiring keys.
  assert.deepEqual(planRotation(d, 'nuc-1'), { action: 'retire', scope: 'nuc-1', retired: 'k-1', forced: false });
  assert.throws(() => applyRotation(d, planRotation(d, 'nuc-1'), POLICY, later(30)), /stopped signing 6h ago/);
  const forced = applyRotation(d, planRotation(d, 'nuc-1'), { ...POLICY, force: true }, later(30));
  assert.equal(forced.action === 'retire' && forced.forced, true);
  assert.deepEqual(d.signingKeys.map((k) => k.state), ['retired', 'active', 'next']);
  assert.deepEqual(publishedKeysFor(d, 'nuc-1').map((k) => k.split(':')[0]), ['k-2', 'k-3']);
  assert.deepEqual(signKeyPathsFor(d, 'nuc-1'), ['/run/agenix/nix-signing-k-2']);
});

test('refused steps change nothing; revoked names and bytes are refused forever', () => {
  const d = fleet();
  const kp = generateKeyPair('k-1');
  addKey(d, { publicKey: kp.publicKey, scope: 'nuc-1', secretKeyPath: null, origin: 'imported', reason: 'x' }, T0);
  const before = JSON.stringify(d);
  assert.throws(() => add(d, 'k-2'), code('SIGNING_NEXT_EXISTS'));
  assert.throws(() => add(d, 'k-1', 'ci'), code('SIGNING_KEY_NAME_TAKEN'));
  assert.throws(() => addKey(d, { publicKey: 'k-9:' + kp.publicKey.split(':')[1], scope: 'ci', secretKeyPath: null, origin: 'imported', reason: 'x' }, T0), code('SIGNING_KEY_DUPLICATE'));
  assert.throws(() => add(d, 'k-5', 'nope'), (e: unknown) => (e as { code?: string }).code === 'INVENTORY_NODE_UNKNOWN');
  assert.equal(JSON.stringify(d), before);
  revokeKey(d, 'k-1', 'compromised', T0);
  assert.throws(() => addKey(d, { publicKey: kp.publicKey, scope: 'ci', secretKeyPath: null, origin: 'imported', reason: 'x' }, T0), code('SIGNING_KEY_REVOKED'));
  assert.throws(() => addKey(d, { publicKey: 'k-7:' + kp.publicKey.split(':')[1], scope: 'ci', secretKeyPath: null, origin: 'imported', reason: 'x' }, T0), code('SIGNING_KEY_REVOKED'));
  assert.throws(() => revokeKey(d, 'k-1', 'again', T0), code('SIGNING_KEY_ALREADY_REVOKED'));
  assert.throws(() => revokeKey(d, 'k-1', ' ', T0), code('SIGNING_REASON_REQUIRED'));
});

test('a shared active key keeps nodes signed: revoking a node key is then not "leaving it unsigned"', () => {
  const d = fleet();
  add(d, 'shared-1', null);
  applyRotation(d, planRotation(d, null), POLICY, T0);
  add(d, 'own-1');
  applyRotation(d, planRotation(d, 'nuc-1'), POLICY, T0);
  assert.deepEqual(signKeyPathsFor(d, 'nuc-1').sort(), ['/run/agenix/nix-signing-own-1', '/run/agenix/nix-signing-shared-1']);
  const r = revokeKey(d, 'own-1', 'test', T0);
  assert.equal(r.warning, null);
  // The shared key is the only active key of every node: revoking it needs force, and names them all.
  assert.throws(() => revokeKey(d, 'shared-1', 'test', T0), /only active key of node ci, node nuc-1/);
  assert.match(revokeKey(d, 'shared-1', 'test', T0, true).warning!, /node ci, node nuc-1 have no active signing key/);
});

test('signing keys of a node: active first, retiring only in an overlap (per key, or all with overlapAll)', () => {
  const d = fleet();
  add(d, 'k-1');
  applyRotation(d, planRotation(d, 'nuc-1'), POLICY, T0);
  add(d, 'k-2', 'nuc-1', T0);
  applyRotation(d, planRotation(d, 'nuc-1'), POLICY, later(24)); // k-1 retiring, no overlap
  assert.deepEqual(signingKeysFor(d, 'nuc-1').map((k) => k.name), ['k-2']);
  // What `nixca nixos emit --sign-key-overlap` signs with: every retiring key too, after the active one.
  assert.deepEqual(signingKeysFor(d, 'nuc-1', true).map((k) => k.name), ['k-2', 'k-1']);
  d.signingKeys.find((k) => k.name === 'k-1')!.overlapSigning = true;
  assert.deepEqual(signingKeysFor(d, 'nuc-1').map((k) => k.name), ['k-2', 'k-1']);
  assert.deepEqual(signKeyPathsFor(d, 'nuc-1'), ['/run/agenix/nix-signing-k-2', '/run/agenix/nix-signing-k-1']);
});
