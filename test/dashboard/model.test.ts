// The snapshot the page polls stays bounded: certificates that expired long ago are counted, not listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ariPollingByNode, buildSnapshot, CERTIFICATE_HISTORY_MS, MAX_CERTIFICATES } from '../../src/dashboard/model.js';
import { addAriPoll, emptyAriPolls } from '../../src/status/ari-polls.js';
import { buildDashboardApp } from '../../src/dashboard/http/app.js';
import { inventory, snapshot } from './fixtures.js';

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

test('the ARI column comes from the issuer\'s renewalInfo fetch record (RFC 9773): polls, never polled, no certificate yet', async (t) => {
  const polls = emptyAriPolls();
  const at = new Date('2026-06-01T11:00:00.000Z');
  addAriPoll(polls, { serial: '01aa', node: 'alpha', accountId: 'acct-a', userAgent: 'Caddy/2.8', at });
  const ari = ariPollingByNode([{ name: 'alpha' }, { name: 'bravo' }, { name: 'charlie' }], polls, [{ node: 'alpha' }, { node: 'bravo' }]);
  assert.deepEqual(ari, { alpha: { polls: true, lastFetchedAt: at.toISOString() }, bravo: { polls: false, lastFetchedAt: null }, charlie: null });
  const now = new Date('2026-06-01T12:00:00.000Z');
  const s = { ...snapshot(now), ari };
  const app = buildDashboardApp({ snapshot: async () => s, viewer: async () => null, now: () => now });
  t.after(() => app.close());
  const body = (await app.inject({ method: 'GET', url: '/' })).body;
  const row = (node: string) => body.slice(body.indexOf(`>${node}<`), body.indexOf('</tr>', body.indexOf(`>${node}<`)));
  assert.match(row('alpha'), /polls ARI/);
  assert.match(row('bravo'), /never polled/);
});
