import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCertId, defaultWindow, encodeCertId, renewalInfoBody, retryAfterSeconds, spreadFraction, suggestedWindow, RENEW_NOW_WINDOW_MS } from '../../src/status/ari-window.js';

const H = 3_600_000;
const nb = new Date('2026-11-01T00:00:00Z');
const na = new Date(nb.getTime() + 168 * H); // 7-day leaf

test('the default window lies in the last third, leaves L/18 before expiry, and is 1/9 of the lifetime', () => {
  for (let i = 0; i < 200; i++) {
    const w = defaultWindow({ node: `node-${i}`, serial: (0x1000 + i).toString(16), notBefore: nb, notAfter: na });
    assert.ok(w.start.getTime() >= nb.getTime() + 112 * H - 1000, `start ${w.start.toISOString()} before 2/3`);
    assert.ok(w.end.getTime() <= na.getTime() - (168 / 18) * H, `end ${w.end.toISOString()} too close to expiry`);
    assert.ok(w.end > w.start);
    assert.ok(Math.abs(w.end.getTime() - w.start.getTime() - (168 / 9) * H) <= 1000);
    assert.equal(w.start.getMilliseconds(), 0);
  }
});

test('the fleet is spread: 50 nodes with certificates issued at the same moment get different windows', () => {
  const starts = new Set<number>();
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < 50; i++) {
    const s = defaultWindow({ node: `nuc-${i}`, serial: 'abcdef0123', notBefore: nb, notAfter: na }).start.getTime();
    starts.add(s);
    min = Math.min(min, s);
    max = Math.max(max, s);
  }
  assert.equal(starts.size, 50);
  // Spread over most of the L/6 = 28 h range.
  assert.ok(max - min > 20 * H, `spread only ${(max - min) / H} h`);
});

test('the window is deterministic: same node and serial, same answer (any replica agrees)', () => {
  const a = defaultWindow({ node: 'nuc-1', serial: '0a0b', notBefore: nb, notAfter: na });
  const b = defaultWindow({ node: 'nuc-1', serial: '0A0B', notBefore: nb, notAfter: na });
  assert.deepEqual(a, b);
  assert.notEqual(spreadFraction('nuc-1', '0a0b'), spreadFraction('nuc-2', '0a0b'));
});

test('renew-now moves the window to renewAfter for certificates issued before it, not for later ones', () => {
  const issuedAt = new Date(nb.getTime() + 5 * 60_000);
  const renewAfter = new Date(nb.getTime() + 24 * H);
  const w = suggestedWindow({ node: 'nuc-1', serial: '01', notBefore: nb, notAfter: na, issuedAt, renewAfter });
  assert.equal(w.reason, 'renew-now');
  assert.equal(w.start.getTime(), renewAfter.getTime());
  assert.equal(w.end.getTime(), renewAfter.getTime() + RENEW_NOW_WINDOW_MS);
  // A certificate issued after the request (its notBefore is backdated, so issuedAt decides) is left alone.
  const later = suggestedWindow({ node: 'nuc-1', serial: '02', notBefore: new Date(renewAfter.getTime() - 5 * 60_000), notAfter: new Date(renewAfter.getTime() + 168 * H), issuedAt: new Date(renewAfter.getTime() + 60_000), renewAfter });
  assert.equal(later.reason, 'default');
  assert.ok(later.start.getTime() > renewAfter.getTime() + 100 * H);
});

test('renew-now late in the lifetime never extends the window past the default end', () => {
  const issuedAt = nb;
  const def = defaultWindow({ node: 'n', serial: '03', notBefore: nb, notAfter: na });
  const renewAfter = new Date(def.end.getTime() - 10 * 60_000);
  const w = suggestedWindow({ node: 'n', serial: '03', notBefore: nb, notAfter: na, issuedAt, renewAfter });
  assert.equal(w.start.getTime(), def.start.getTime());
  assert.equal(w.end.getTime(), def.end.getTime());
});

test('Retry-After: 6 h normally, until the window opens when sooner, never under a minute', () => {
  const now = new Date('2026-11-01T00:00:00Z');
  assert.equal(retryAfterSeconds({ start: new Date(now.getTime() + 48 * H) }, now), 6 * 3600);
  assert.equal(retryAfterSeconds({ start: new Date(now.getTime() + 2 * H) }, now), 2 * 3600);
  assert.equal(retryAfterSeconds({ start: new Date(now.getTime() + 10_000) }, now), 60);
  assert.equal(retryAfterSeconds({ start: new Date(now.getTime() - H) }, now), 6 * 3600);
});

test('RFC 9773 §4.1 certID: the example of the RFC, the leading 00 of high-bit serials, and refusals', () => {
  // RFC 9773 §4.1 example: AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4, serial 00:87:65:43:21.
  const id = encodeCertId('69885b6b87464041e1b37b847ba0ae2cde01c8d4', '87654321');
  assert.equal(id, 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  assert.deepEqual(decodeCertId(id), { akiKeyIdHex: '69885b6b87464041e1b37b847ba0ae2cde01c8d4', serialHex: '87654321' });
  assert.equal(encodeCertId('01', '7f01'), 'AQ.fwE');
  assert.equal(decodeCertId('AQ.AH8B'), null, 'a needless leading 00 is not DER');
  assert.equal(decodeCertId('AQ.gAE'), null, 'a negative serial');
  assert.equal(decodeCertId('AQ'), null);
  assert.equal(decodeCertId('AQ.fwE='), null);
  assert.deepEqual(renewalInfoBody({ start: new Date('2026-11-26T10:00:00.123Z'), end: new Date('2026-11-27T05:00:00.999Z') }), { suggestedWindow: { start: '2026-11-26T10:00:00Z', end: '2026-11-27T05:00:00Z' } });
});

test('a revoked certificate gets a window in the past (RFC 9773 §4.2: replace it at once), whatever renewAfter says', () => {
  const revokedAt = new Date(nb.getTime() + 30 * H + 123);
  const w = suggestedWindow({ node: 'n', serial: '04', notBefore: nb, notAfter: na, issuedAt: nb, renewAfter: new Date(nb.getTime() + 40 * H), revokedAt });
  assert.deepEqual(w, { start: new Date(nb.getTime() + 30 * H), end: new Date(nb.getTime() + 30 * H + 1000), reason: 'revoked' });
});
