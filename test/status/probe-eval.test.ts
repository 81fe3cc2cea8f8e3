// The pure half of --probe: every verdict from a described observation, without a network.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResolve as parseResolveWith } from '../../cli/status.js';
import * as names from '../../src/inventory/names.js';
import { parseSince } from '../../cli/audit.js';
import { evaluateProbe, probePathHash, type RawProbe } from '../../src/probe/probe.js';
import { emptyInventory, type InventoryData } from '../../src/inventory/model.js';
import { generateKeyPair, parseSecretKey } from '../../src/signing/keys.js';
import { parseNarInfo, serializeNarInfo, signNarInfo } from '../../src/signing/narinfo.js';

const parseResolve = (text: string) => parseResolveWith(text, names);
const now = new Date('2026-11-22T12:00:00Z');
const target = { node: 'nuc-1', host: 'cache.nuc-1.n3x.test', address: '127.0.0.1', port: 443 };
const certs = [
  { serial: 'aa01', node: 'nuc-1', names: ['cache.nuc-1.n3x.test'], notBefore: '2026-11-15T00:00:00Z', notAfter: '2026-11-22T00:00:00Z', issuedAt: '2026-11-15T00:00:00Z' },
  { serial: 'aa02', node: 'nuc-1', names: ['cache.nuc-1.n3x.test'], notBefore: '2026-11-20T00:00:00Z', notAfter: '2026-11-27T00:00:00Z', issuedAt: '2026-11-20T00:00:00Z' },
  { serial: 'bb01', node: 'nuc-2', names: ['cache.nuc-2.n3x.test'], notBefore: '2026-11-20T00:00:00Z', notAfter: '2026-11-27T00:00:00Z', issuedAt: '2026-11-20T00:00:00Z' },
  { serial: 'aa00', node: 'nuc-1', names: ['cache.nuc-1.n3x.test'], notBefore: '2026-11-19T00:00:00Z', notAfter: '2026-11-26T00:00:00Z', issuedAt: '2026-11-19T00:00:00Z' },
];
const served = (serial: string, notAfter = '2026-11-27T00:00:00.000Z', chainValid = true) => ({ serial, notBefore: '2026-11-20T00:00:00.000Z', notAfter, names: [target.host], chainValid, chainError: chainValid ? null : 'CERT_HAS_EXPIRED' });
const raw = (over: Partial<RawProbe>): RawProbe => ({ target, certificate: served('aa02'), connectError: null, cacheInfo: { status: 200, body: 'StoreDir: /nix/store\nPriority: 40\n' }, narinfo: null, ...over });
const codes = (r: ReturnType<typeof evaluateProbe>) => r.problems.map((p) => `${p.severity}:${p.code}`).sort();

const keys = { active: generateKeyPair('k-active'), retired: generateKeyPair('k-retired'), revoked: generateKeyPair('k-revoked') };
const inventory: InventoryData = { ...emptyInventory(), signingKeys: (['active', 'retired', 'revoked'] as const).map((st) => ({ name: keys[st].name, node: 'nuc-1', publicKey: keys[st].publicKey, secretKeyPath: null, origin: 'generated' as const, state: st, history: [] })) };
const ctx = { inventory, certificates: certs, revocations: [{ serial: 'aa00', reason: 1, revokedAt: '2026-11-20T00:00:00Z' }], now, probePaths: ['0jqd0rlxzra1rs38rdxl43yh6rxchgc6'] };
const narinfo = (...signers: (keyof typeof keys)[]) => {
  const text = 'StorePath: /nix/store/0jqd0rlxzra1rs38rdxl43yh6rxchgc6-x\nURL: nar/x.nar\nCompression: none\nNarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0\nNarSize: 5\n';
  return { hash: '0jqd0rlxzra1rs38rdxl43yh6rxchgc6', status: 200, body: serializeNarInfo(signNarInfo(parseNarInfo(text), signers.map((s) => parseSecretKey(keys[s].secretKey))).narinfo) };
};

test('served certificate verdicts: current, older, revoked, other node, expired, untrusted', () => {
  assert.deepEqual(codes(evaluateProbe(raw({}), ctx)), []);
  assert.deepEqual(codes(evaluateProbe(raw({ certificate: served('aa01', '2026-11-22T00:00:00.000Z', false) }), ctx)), ['error:served-expired']);
  assert.deepEqual(codes(evaluateProbe(raw({ certificate: served('aa00') }), ctx)), ['error:served-revoked']);
  assert.deepEqual(codes(evaluateProbe(raw({ certificate: served('bb01') }), ctx)), ['error:served-other-node']);
  assert.deepEqual(codes(evaluateProbe(raw({ certificate: { ...served('aa02'), chainValid: false, chainError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' } }), ctx)), ['error:served-untrusted']);
  const older = { ...ctx, certificates: [...certs, { ...certs[1]!, serial: 'aa03', issuedAt: '2026-11-21T00:00:00Z' }] };
  assert.deepEqual(codes(evaluateProbe(raw({}), older)), ['warning:served-older']);
  assert.deepEqual(codes(evaluateProbe(raw({ certificate: null, connectError: 'ECONNREFUSED: connect' }), ctx)), ['error:unreachable']);
});

test('cache-info and narinfo verdicts: signatures by active, retired, revoked and unknown keys', () => {
  assert.deepEqual(codes(evaluateProbe(raw({ cacheInfo: { status: 404, body: '' } }), ctx)), ['error:cache-info']);
  assert.deepEqual(codes(evaluateProbe(raw({ narinfo: narinfo('active') }), ctx)), []);
  assert.deepEqual(codes(evaluateProbe(raw({ narinfo: narinfo('active', 'retired') }), ctx)), ['warning:signs-retired']);
  assert.deepEqual(codes(evaluateProbe(raw({ narinfo: narinfo('revoked') }), ctx)), ['error:no-valid-signature', 'error:signs-revoked']);
  const tampered = narinfo('active');
  tampered.body = tampered.body.replace('NarSize: 5', 'NarSize: 6');
  assert.deepEqual(codes(evaluateProbe(raw({ narinfo: tampered }), ctx)), ['error:bad-signature', 'error:no-valid-signature']);
  assert.deepEqual(codes(evaluateProbe(raw({ narinfo: { hash: 'x', status: 404, body: '' } }), ctx)), ['warning:narinfo-missing']);
  assert.deepEqual(codes(evaluateProbe(raw({ narinfo: { hash: 'x', status: 200, body: 'garbage' } }), ctx)), ['error:narinfo-invalid']);
  assert.equal(evaluateProbe(raw({}), { ...ctx, probePaths: [] }).narinfo!.detail, 'skipped: no --probe-path given');
});

test('flag parsers: --resolve, --probe-path, --since', () => {
  assert.deepEqual(parseResolve('Cache.A.test=127.0.0.1'), { name: 'cache.a.test', address: '127.0.0.1', port: undefined });
  assert.deepEqual(parseResolve('cache.a.test=[::1]:8443'), { name: 'cache.a.test', address: '::1', port: 8443 });
  assert.throws(() => parseResolve('cache.a.test'), /NAME=ADDRESS/);
  assert.throws(() => parseResolve('cache.a.test=1.2.3.4:70000'), /out of range/);
  // NAME as the inventory spells it: a trailing dot is dropped, a name no node can have is refused.
  assert.deepEqual(parseResolve('cache.a.test.=10.0.0.1:8443'), { name: 'cache.a.test', address: '10.0.0.1', port: 8443 });
  for (const bad of ['cache_a.test=10.0.0.1', 'cache..a.test=10.0.0.1', 'cache=10.0.0.1', '=10.0.0.1']) assert.throws(() => parseResolve(bad), /NAME=ADDRESS/, bad);
  assert.equal(probePathHash('/nix/store/0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0'), '0jqd0rlxzra1rs38rdxl43yh6rxchgc6');
  assert.equal(probePathHash('0jqd0rlxzra1rs38rdxl43yh6rxchgc6'), '0jqd0rlxzra1rs38rdxl43yh6rxchgc6');
  assert.equal(probePathHash('eeee'), null);
  assert.equal(parseSince('24h', now).toISOString(), '2026-11-21T12:00:00.000Z');
  assert.equal(parseSince('2026-11-01T00:00:00Z', now).toISOString(), '2026-11-01T00:00:00.000Z');
  assert.throws(() => parseSince('last week', now), /ISO 8601/);
});
