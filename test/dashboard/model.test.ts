// The snapshot the page polls stays bounded: certificates that expired long ago are counted, not listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, CERTIFICATE_HISTORY_MS, MAX_CERTIFICATES } from '../../src/dashboard/model.js';
import { inventory } from './fixtures.js';

test('the snapshot lists current and recent certificates, newest first, at most MAX_CERTIFICATES', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
  const cert = (serial: string, notAfterMs: number) => ({ serial, node: 'alpha', names: ['cache.alpha.n3x.test'], notBefore: at(notAfterMs - 7 * 86_400_000), notAfter: at(notAfterMs), issuedAt: at(notAfterMs - 7 * 86_400_000) });
  const certificates = [cert('01', 86_400_000), cert('02', -86_400_000), cert('03', -CERTIFICATE_HISTORY_MS - 1000)];
  const s = buildSnapshot({ inventory: inventory(['alpha']), certificates, revocations: [], now, probe: null, audit: { recent: [], total: 0, verification: null, error: null }, crl: null });
  assert.deepEqual(s.certificates.map((c) => [c.serial, c.state]), [['01', 'valid'], ['02', 'expired']]);
  assert.equal(s.certificatesOmitted, 1);
  assert.equal(s.nodes[0]!.certificate?.serial, '01', 'status still sees every certificate');
  const many = Array.from({ length: MAX_CERTIFICATES + 5 }, (_, i) => cert(i.toString(16).padStart(4, '0'), 86_400_000 + i * 1000));
  const big = buildSnapshot({ inventory: inventory(['alpha']), certificates: many, revocations: [], now, probe: null, audit: { recent: [], total: 0, verification: null, error: null }, crl: null });
  assert.equal(big.certificates.length, MAX_CERTIFICATES);
  assert.equal(big.certificatesOmitted, 5);
  assert.equal(big.certificates[0]!.serial, (MAX_CERTIFICATES + 4).toString(16).padStart(4, '0'), 'newest first');
});
