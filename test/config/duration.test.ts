import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, parseWholeDuration } from '../../src/config/duration.js';
import { ConfigError } from '../../src/config/errors.js';

const H = 3_600_000;
const D = 24 * H;

test('the duration grammar: units, combinations, largest unit first', () => {
  assert.equal(parseDuration('--x', '30d'), 30 * D);
  assert.equal(parseDuration('--x', '12h'), 12 * H);
  assert.equal(parseDuration('--x', '90m'), 90 * 60_000);
  assert.equal(parseDuration('--x', '45s'), 45_000);
  assert.equal(parseDuration('--x', '500ms'), 500);
  assert.equal(parseDuration('--x', '1y'), 365 * D);
  assert.equal(parseDuration('--x', '2w'), 14 * D);
  assert.equal(parseDuration('--x', '1d12h'), 36 * H);
  assert.equal(parseDuration('--x', '2h30m15s'), 2 * H + 30 * 60_000 + 15_000);
  assert.equal(parseDuration('--x', '0s', { allowZero: true }), 0);
});

test('a bare number, a wrong order, a repeated unit or garbage is a usage error that shows the grammar', () => {
  for (const bad of ['30', '0', '', ' ', '1.5h', '-1d', '12h1d', '1h1h', '1 d', '7days', 'd', '1dd', '10x']) {
    assert.throws(() => parseDuration('--validity', bad), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.kind, 'usage');
      assert.match(e.message, /^--validity must be a duration: .*30d, 12h, 90m, 45s/);
      return true;
    }, bad);
  }
  assert.throws(() => parseDuration('--validity', '30'), /a bare number has no unit/);
  assert.throws(() => parseDuration('--leaf-lifetime', '0s'), /must be longer than 0/);
});

test('whole days and whole seconds', () => {
  assert.equal(parseWholeDuration('--validity', '1y', 'd'), 365);
  assert.equal(parseWholeDuration('--validity', '2w', 'd'), 14);
  assert.throws(() => parseWholeDuration('--validity', '36h', 'd'), /whole days/);
  assert.equal(parseWholeDuration('--connect-timeout', '1m', 's'), 60);
  assert.throws(() => parseWholeDuration('--connect-timeout', '1500ms', 's'), /whole seconds/);
});

test('formatDuration is canonical and parses back', () => {
  for (const ms of [500, 45_000, 90 * 60_000, 36 * H, 7 * D, 365 * D + 1]) {
    assert.equal(parseDuration('--x', formatDuration(ms)), ms);
  }
  assert.equal(formatDuration(36 * H), '1d12h');
  assert.equal(formatDuration(0), '0s');
});
