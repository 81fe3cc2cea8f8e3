import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { appendEntry, canonicalJson, GENESIS, lastEntryForAppend, serializeEntry, signBytes, verifyLog, type ChainEntry } from '../../src/ca/chainlog.js';
import { CaError } from '../../src/ca/errors.js';
import { generateKeyPair, signingAlgorithm } from '../../src/ca/keys.js';

async function log(n: number, alg: 'ECDSA-P384' | 'Ed25519' | 'RSA-2048' = 'ECDSA-P384') {
  const keys = await generateKeyPair(alg);
  const entries: ChainEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(await appendEntry(entries.at(-1) ?? null, { event: `step.${i}`, data: { serial: `0${i}`, n: i, names: ['a', 'b'] }, time: new Date(1_700_000_000_000 + i) }, keys.privateKey));
  }
  return { keys, entries, text: entries.map(serializeEntry).join('') };
}

test('canonicalJson sorts keys and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ y: 'x', x: null }], c: undefined }), '{"a":[{"x":null,"y":"x"}],"b":1}');
});

test('an untouched log verifies, for each key type', async () => {
  for (const alg of ['ECDSA-P384', 'Ed25519', 'RSA-2048'] as const) {
    const { keys, text, entries } = await log(4, alg);
    const v = await verifyLog(text, keys.publicKey);
    assert.deepEqual(v.problems, [], alg);
    assert.equal(v.valid, true);
    assert.equal(v.count, 4);
    assert.equal(entries[0]!.prev, GENESIS);
    assert.equal((await lastEntryForAppend(text, keys.publicKey))!.seq, 3);
  }
});

test('edited, removed, reordered, inserted entries and a foreign key are detected', async () => {
  const { keys, entries, text } = await log(5);
  const lines = text.trimEnd().split('\n');
  const check = async (t: string) => verifyLog(t, keys.publicKey);

  const edited = [...lines];
  edited[2] = edited[2]!.replace('"serial":"02"', '"serial":"99"');
  let v = await check(edited.join('\n') + '\n');
  assert.equal(v.valid, false);
  assert.match(v.problems[0]!.reason, /entry 2 .*signature does not verify/);
  assert.equal(v.problems[0]!.line, 3);

  v = await check([lines[0], lines[1], lines[3], lines[4]].join('\n') + '\n');
  assert.equal(v.valid, false);
  assert.ok(v.problems.some((p) => p.line === 3 && /seq 3, expected 2/.test(p.reason)));

  v = await check([lines[0], lines[2], lines[1], lines[3], lines[4]].join('\n') + '\n');
  assert.equal(v.valid, false);
  assert.ok(v.problems.some((p) => p.line === 2));

  // An entry re-signed by another key cannot be slipped in.
  const other = await generateKeyPair('ECDSA-P384');
  const forged = await appendEntry(entries[4]!, { event: 'forged', data: {}, time: new Date() }, other.privateKey);
  v = await check(text + serializeEntry(forged));
  assert.deepEqual(v.problems.map((p) => p.line), [6]);

  v = await check(text.replace(lines[1]!, '{"damaged'));
  assert.equal(v.valid, false);
  assert.match(v.problems[0]!.reason, /not JSON/);

  assert.equal((await check('')).valid, false);
  await assert.rejects(lastEntryForAppend(edited.join('\n'), keys.publicKey), (e: unknown) => e instanceof CaError && e.code === 'CA_TRANSCRIPT_INVALID');
});

test('entry signatures made with node:crypto are WebCrypto signatures: verified by WebCrypto, byte for byte where deterministic', async () => {
  const data = new TextEncoder().encode('{"event":"certificate.issued","seq":7}');
  for (const alg of ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048'] as const) {
    const keys = await generateKeyPair(alg);
    const params = signingAlgorithm(keys.privateKey);
    for (let i = 0; i < 5; i++) {
      const ours = signBytes(keys.privateKey, data);
      assert.equal(await webcrypto.subtle.verify(params, keys.publicKey, ours, data), true, alg);
      const theirs = Buffer.from(await webcrypto.subtle.sign(params, keys.privateKey, data));
      assert.equal(ours.length, theirs.length, alg);
      // ECDSA is randomized; Ed25519 and PKCS#1 v1.5 are not.
      if (!alg.startsWith('ECDSA')) assert.deepEqual(ours, theirs, alg);
      assert.equal(await webcrypto.subtle.verify(params, keys.publicKey, ours, new TextEncoder().encode('other')), false);
    }
  }
  const { publicKey } = await generateKeyPair('ECDSA-P256');
  assert.throws(() => signBytes(publicKey, data), (e: CaError) => e.code === 'CA_KEY_UNSUPPORTED');
});
