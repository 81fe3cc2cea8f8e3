import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { SigningError } from '../../src/signing/errors.js';
import { decodeNix32, encodeNix32, formatSha256Nix32, nix32Length, parseSha256 } from '../../src/signing/nix32.js';
import { tempDir } from '../helpers/cli.js';
import { nixEnv } from './nix.js';

const code = (c: string) => (e: unknown) => e instanceof SigningError && e.code === c;

test('nix32 lengths and known values', () => {
  assert.equal(nix32Length(32), 52);
  assert.equal(nix32Length(20), 32);
  assert.equal(encodeNix32(new Uint8Array(32)), '0'.repeat(52));
  // sha256("hi"), checked once with `nix hash to-base32 --type sha256`.
  const hi = createHash('sha256').update('hi').digest();
  assert.equal(encodeNix32(hi), '193s6bfb4ncbr0d3rpb177cac43b2z2h3afxi7grcswgci346hwg');
  // Bit order: the first byte ends up at the END of the text.
  const one = new Uint8Array(32);
  one[0] = 1;
  assert.equal(encodeNix32(one), '0'.repeat(51) + '1');
});

test('nix32 decoding round-trips and refuses bad text', () => {
  for (let i = 0; i < 50; i++) {
    const h = randomBytes(i % 2 ? 32 : 20);
    assert.deepEqual(Buffer.from(decodeNix32(encodeNix32(h), h.length)), h);
  }
  assert.throws(() => decodeNix32('e'.repeat(52), 32), code('SIGNING_HASH_INVALID')); // 'e' is not in the alphabet
  assert.throws(() => decodeNix32('0'.repeat(51), 32), code('SIGNING_HASH_INVALID'));
  // 52 chars × 5 bits = 260 > 256: the first character may only carry 1 bit.
  assert.throws(() => decodeNix32('z' + '0'.repeat(51), 32), /more bits/);
});

test('parseSha256 accepts nix32, hex, base64 and SRI; refuses the rest', () => {
  const h = createHash('sha256').update('x').digest();
  const nix32 = formatSha256Nix32(h);
  for (const form of [nix32, 'sha256:' + h.toString('hex'), 'sha256:' + h.toString('base64'), 'sha256-' + h.toString('base64')]) {
    assert.equal(formatSha256Nix32(parseSha256(form)), nix32, form);
  }
  assert.throws(() => parseSha256('md5:abc'), code('SIGNING_HASH_INVALID'));
  assert.throws(() => parseSha256('sha256:abc'), /52 nix32, 64 hex or 44 base64/);
  assert.throws(() => parseSha256('sha256-' + h.subarray(1).toString('base64')), /not 32 bytes/);
  assert.throws(() => parseSha256('sha256:' + 'g'.repeat(64)), /hex/);
});

test('nix32 matches `nix hash to-base32` and `nix hash file --base32` (real nix)', async (t) => {
  const dir = await tempDir(t, 'nixca-nix32-');
  const nix = await nixEnv(dir);
  const hashes = Array.from({ length: 8 }, () => randomBytes(32));
  const out = (await nix.ok('nix', ['hash', 'to-base32', '--type', 'sha256', ...hashes.map((h) => h.toString('hex'))])).trim().split('\n');
  assert.deepEqual(out, hashes.map((h) => encodeNix32(h)));
  // SRI input (what `nix path-info --json` prints) converts to the same text.
  const sri = (await nix.ok('nix', ['hash', 'to-base32', `sha256-${hashes[0]!.toString('base64')}`])).trim();
  assert.equal(sri, encodeNix32(hashes[0]!));
  const file = join(dir, 'payload.bin');
  const content = randomBytes(1000);
  await writeFile(file, content);
  const fileHash = (await nix.ok('nix', ['hash', 'file', '--base32', '--type', 'sha256', file])).trim();
  assert.equal(fileHash, encodeNix32(createHash('sha256').update(content).digest()));
  // And back: nix's text decodes to the bytes.
  assert.deepEqual(Buffer.from(decodeNix32(fileHash, 32)), createHash('sha256').update(content).digest());
});
