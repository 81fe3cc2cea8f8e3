// Signing-key transitions as operations (src/ops/keys.ts): parsed from untrusted JSON as the admin
// socket receives them, audited before the inventory is written (a refused audit changes nothing),
// first-key activation only where nothing is published, and no secret anywhere in what they carry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addNode } from '../../src/inventory/inventory.js';
import { emptyInventory, type InventoryData } from '../../src/inventory/model.js';
import { applyOperation, parseOperation } from '../../src/ops/operations.js';
import type { OpsDeps } from '../../src/ops/types.js';
import type { KeyAddData, KeyRevokeData, KeyRotateData } from '../../src/ops/keys.js';
import type { AuditEvent } from '../../src/audit/log.js';
import { generateKeyPair } from '../../src/signing/keys.js';

const T0 = new Date('2026-12-01T00:00:00Z');

function setup() {
  const inv: InventoryData = emptyInventory();
  addNode(inv, { name: 'nuc-1', dnsNames: ['cache.nuc-1.n3x.internal'] }, T0);
  const audited: AuditEvent[] = [];
  let now = T0;
  let refuseAudit = false;
  const deps: OpsDeps = {
    store: null,
    // As the real stores do: `fn` works on a copy that replaces the document only if it returns.
    inventory: { read: async () => inv, update: async (fn) => { const copy = structuredClone(inv); const r = await fn(copy); Object.assign(inv, copy); return r; } },
    audit: async (e) => {
      if (refuseAudit) throw Object.assign(new Error('audit log unwritable'), { kind: 'io' });
      audited.push(...e);
    },
    now: () => now,
    appliedBy: 'issuer',
  };
  return { inv, audited, deps, advance: (ms: number) => (now = new Date(now.getTime() + ms)), refuse: (v: boolean) => (refuseAudit = v) };
}

/** Sends `op` through JSON and parseOperation, as it arrives over the admin socket. */
const viaSocket = (deps: OpsDeps, op: object) => applyOperation(deps, parseOperation(JSON.parse(JSON.stringify(op))));
const add = (name: string, extra: object = {}) => ({ op: 'key.add', scope: 'nuc-1', publicKey: generateKeyPair(name).publicKey, secretKeyPath: `/run/agenix/${name}`, origin: 'generated', ...extra });
const rotate = { op: 'key.rotate', scope: 'nuc-1', minPrepublishMs: 86_400_000, minOverlapMs: 86_400_000, overlap: false, force: false };

describe('signing-key operations', () => {
  it('add, promote, rotate, retire and revoke: each transition audited with public data only', async () => {
    const s = setup();
    const k1 = generateKeyPair('cache.nuc-1.n3x.internal-1');
    const r = await viaSocket(s.deps, { op: 'key.add', scope: 'nuc-1', publicKey: k1.publicKey, secretKeyPath: '/run/agenix/k1', origin: 'generated' });
    assert.equal(r.op, 'key.add');
    assert.equal((r.data as KeyAddData).key.state, 'next');
    // First promotion needs no waiting: nothing was signing.
    const p = await viaSocket(s.deps, rotate);
    assert.deepEqual((p.data as KeyRotateData).step, { action: 'promote', scope: 'nuc-1', promoted: k1.publicKey.split(':')[0], demoted: null, forced: false });
    await viaSocket(s.deps, add('cache.nuc-1.n3x.internal-2'));
    // The policy holds over the socket as on the store: too early is refused (policy), then fine a day later.
    await assert.rejects(viaSocket(s.deps, rotate), (e: { kind?: string; message: string }) => e.kind === 'policy' && /min-prepublish/.test(e.message));
    s.advance(86_400_000);
    assert.match((await viaSocket(s.deps, rotate)).summary, /promoted cache\.nuc-1\.n3x\.internal-2 to active; cache\.nuc-1\.n3x\.internal-1 is retiring/);
    s.advance(86_400_000);
    assert.match((await viaSocket(s.deps, rotate)).summary, /retired cache\.nuc-1\.n3x\.internal-1/);
    const rv = await viaSocket(s.deps, { op: 'key.revoke', name: 'cache.nuc-1.n3x.internal-2', reason: 'leaked', force: true });
    assert.equal((rv.data as KeyRevokeData).previousState, 'active');
    assert.match(rv.warnings.join(), /node nuc-1 has no active signing key now/);
    assert.deepEqual(s.audited.map((e) => `${e.subject}:${String(e.details?.from)}>${String(e.details?.to)}`), [
      'cache.nuc-1.n3x.internal-1:null>next',
      'cache.nuc-1.n3x.internal-1:next>active',
      'cache.nuc-1.n3x.internal-2:null>next',
      'cache.nuc-1.n3x.internal-1:active>retiring',
      'cache.nuc-1.n3x.internal-2:next>active',
      'cache.nuc-1.n3x.internal-1:retiring>retired',
      'cache.nuc-1.n3x.internal-2:active>revoked',
    ]);
    assert.ok(!JSON.stringify(s.audited).includes(k1.secretKey.split(':')[1]!));
  });

  it('a refused audit entry leaves the keys as they were', async () => {
    const s = setup();
    await viaSocket(s.deps, add('cache.nuc-1.n3x.internal-1'));
    s.refuse(true);
    await assert.rejects(viaSocket(s.deps, rotate), /audit log unwritable/);
    await assert.rejects(viaSocket(s.deps, add('other-1', { scope: null })), /audit log unwritable/);
    assert.deepEqual(s.inv.signingKeys.map((k) => [k.name, k.state]), [['cache.nuc-1.n3x.internal-1', 'next']]);
  });

  it('activate: a first key is active at once; refused (conflict) when the scope already publishes one', async () => {
    const s = setup();
    const r = await viaSocket(s.deps, add('cache.nuc-1.n3x.internal-1', { activate: true }));
    assert.equal((r.data as KeyAddData).key.state, 'active');
    assert.equal(s.inv.signingKeys[0]!.state, 'active');
    await assert.rejects(viaSocket(s.deps, add('cache.nuc-1.n3x.internal-2', { activate: true })), (e: { kind?: string; message: string }) => e.kind === 'conflict' && /already publishes key cache\.nuc-1\.n3x\.internal-1/.test(e.message));
    assert.equal(s.inv.signingKeys.length, 1);
  });

  it('malformed or unsafe requests are refused before anything changes', async () => {
    const s = setup();
    for (const bad of [
      { ...add('a-1'), origin: 'stolen' },
      { ...add('a-1'), activate: 'yes' },
      { ...rotate, minPrepublishMs: '1d' },
      { op: 'key.revoke', name: 'x', force: false },
    ]) assert.throws(() => parseOperation(JSON.parse(JSON.stringify(bad))), (e: { kind?: string }) => e.kind === 'usage', JSON.stringify(bad));
    await assert.rejects(viaSocket(s.deps, add('a-1', { secretKeyPath: 'relative/key' })), (e: { kind?: string }) => e.kind === 'usage');
    await assert.rejects(viaSocket(s.deps, add('a-1', { secretKeyPath: '/nix/store/abc-key' })), (e: { kind?: string }) => e.kind === 'policy');
    await assert.rejects(viaSocket(s.deps, { ...rotate, minOverlapMs: -1 }), (e: { kind?: string }) => e.kind === 'usage');
    await assert.rejects(viaSocket(s.deps, rotate), (e: { kind?: string; message: string }) => e.kind === 'conflict' && /no next key/.test(e.message));
    assert.deepEqual(s.inv.signingKeys, []);
    assert.deepEqual(s.audited, []);
  });
});
