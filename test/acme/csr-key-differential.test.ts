// Differential test: the CSR key import (src/acme/csr-key.ts: P-256 and Ed25519 SPKIs through
// their JWK members) against OpenSSL's SPKI DER import, on generated keys of every type and on
// damaged ones (flipped bits, random and out-of-range coordinates, compressed, hybrid and infinity
// encodings, other curves, cut or extended DER): the same key (equal SPKI export, type and curve,
// and the same RFC 7638 thumbprint) or both refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { importSpki, importSpkiDer, spkiJwk } from '../../src/acme/csr-key.js';
import { jwkThumbprint } from '../../src/acme/jwk-thumbprint.js';
import { prng } from '../helpers/prng.js';

const N = 3000;
const P256_PREFIX = '3059301306072a8648ce3d020106082a8648ce3d03010703420004';
const ED25519_PREFIX = '302a300506032b6570032100';

// P-256 (SEC 2 §2.4.2): y² = x³ - 3x + b over p, p ≡ 3 (mod 4) so a square root is rhs^((p+1)/4).
const p = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const modpow = (x: bigint, e: bigint): bigint => {
  let r = 1n;
  for (x %= p; e > 0n; e >>= 1n, x = (x * x) % p) if (e & 1n) r = (r * x) % p;
  return r;
};
const hex32 = (n: bigint): string => n.toString(16).padStart(64, '0');

/** Points on P-256 with a small x, whose x + p still fits 32 bytes (an out-of-range encoding of a valid x). */
function smallXPoints(count: number): Array<{ x: bigint; y: bigint }> {
  const out: Array<{ x: bigint; y: bigint }> = [];
  for (let x = 1n; out.length < count; x++) {
    const rhs = (((x * x * x - 3n * x + b) % p) + p) % p;
    const y = modpow(rhs, (p + 1n) / 4n);
    if ((y * y) % p === rhs) out.push({ x, y });
  }
  return out;
}

type Verdict = { refused: true } | { type: string | undefined; curve: string | undefined; spki: string; thumbprint: string };

function describe(key: KeyObject, jwk?: JWK): Verdict {
  const exported = key.export({ format: 'jwk' }) as JWK;
  if (jwk) assert.equal(jwkThumbprint(jwk), jwkThumbprint(exported), 'the JWK handed back is the key\'s own');
  return {
    type: key.asymmetricKeyType,
    curve: key.asymmetricKeyDetails?.namedCurve,
    spki: key.export({ format: 'der', type: 'spki' }).toString('hex'),
    thumbprint: jwkThumbprint(exported),
  };
}

const verdict = (fn: () => Verdict): Verdict => {
  try {
    return fn();
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return { refused: true };
  }
};

test(`CSR key import: ${N} generated good and damaged SPKIs, the same key or refusal as the DER import`, (t) => {
  const r = prng(5480);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bytes = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 256).toString(16).padStart(2, '0')).join('');
  const spkiHex = (k: KeyObject) => k.export({ format: 'der', type: 'spki' }).toString('hex');
  const p256 = Array.from({ length: 40 }, () => spkiHex(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
  const ed25519 = Array.from({ length: 20 }, () => spkiHex(generateKeyPairSync('ed25519').publicKey));
  const others = [
    ...Array.from({ length: 4 }, () => spkiHex(generateKeyPairSync('ec', { namedCurve: pick(['P-384', 'P-521', 'secp256k1']) }).publicKey)),
    spkiHex(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey),
    spkiHex(generateKeyPairSync('ed448').publicKey),
  ];
  const small = smallXPoints(8);
  const cases: Array<() => string> = [
    () => pick(p256),
    () => pick(ed25519),
    () => pick(others),
    // One bit flipped anywhere (prefix, point, key).
    () => {
      const h = Buffer.from(pick([...p256, ...ed25519]), 'hex');
      h[Math.floor(r() * h.length)]! ^= 1 << Math.floor(r() * 8);
      return h.toString('hex');
    },
    () => P256_PREFIX + bytes(64),
    () => ED25519_PREFIX + bytes(32),
    // Valid x with a valid y, then the same x + p (refused: not a field element), and y + p where it fits.
    () => {
      const pt = pick(small);
      return P256_PREFIX + hex32(pt.x) + hex32(pt.y);
    },
    () => {
      const pt = pick(small);
      return P256_PREFIX + hex32(pt.x + p) + hex32(pt.y);
    },
    () => {
      const pt = pick(small);
      const y = pt.y + p < 2n ** 256n ? pt.y + p : p - pt.y + p < 2n ** 256n ? 2n * p - pt.y : pt.y;
      return P256_PREFIX + hex32(pt.x) + hex32(y);
    },
    () => P256_PREFIX + pick(['00'.repeat(64), 'ff'.repeat(64), hex32(p) + hex32(p), '00'.repeat(32) + bytes(32)]),
    // Ed25519 edge keys: identity, a small-order point, a non-canonical y (≥ 2^255 - 19), all ones.
    () => ED25519_PREFIX + pick(['01' + '00'.repeat(31), '00'.repeat(32), 'ec' + 'ff'.repeat(30) + '7f', 'ff'.repeat(32), 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a']),
    // Compressed, hybrid and infinity encodings of P-256 points (RFC 5480 §2.2 allows only uncompressed in PKIX; the DER import decides).
    () => {
      const h = pick(p256).slice(P256_PREFIX.length);
      const y = BigInt('0x' + h.slice(64));
      return pick([
        '3039301306072a8648ce3d020106082a8648ce3d030107032200' + (y & 1n ? '03' : '02') + h.slice(0, 64),
        '3059301306072a8648ce3d020106082a8648ce3d030107034200' + (y & 1n ? '07' : '06') + h,
        '3019301306072a8648ce3d020106082a8648ce3d0301070302' + '0000',
      ]);
    },
    // The P-256 prefix with another length, or another curve's OID with a P-256 point.
    () => {
      const h = pick(p256);
      return pick([h.slice(0, -2), h + '00', '3056301006072a8648ce3d020106052b8104000a034200' + h.slice(P256_PREFIX.length - 2)]);
    },
  ];
  let fast = 0;
  let fastRefused = 0;
  let accepted = 0;
  for (let i = 0; i < N; i++) {
    const der = new Uint8Array(Buffer.from(pick(cases)(), 'hex'));
    const reference = verdict(() => describe(importSpkiDer(der)));
    const ours = verdict(() => {
      const { key, jwk } = importSpki(der);
      return describe(key, jwk);
    });
    assert.deepEqual(ours, reference, `SPKI ${Buffer.from(der).toString('hex')}`);
    if (spkiJwk(der)) {
      fast++;
      if ('refused' in ours) fastRefused++;
    }
    if (!('refused' in ours)) accepted++;
  }
  t.diagnostic(JSON.stringify({ inputs: N, fast, fastRefused, accepted }));
  // The comparison is not vacuous: the JWK path answered often, and refused often.
  assert.ok(fast > N / 2 && fastRefused > N / 10 && accepted > N / 4, JSON.stringify({ fast, fastRefused, accepted }));
});

test('CSR key import: the JWK path is taken exactly for P-256 uncompressed and Ed25519 SPKIs', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const ed = generateKeyPairSync('ed25519').publicKey;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
  const der = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
  assert.deepEqual(spkiJwk(der(p256)), { ...(p256.export({ format: 'jwk' }) as object) });
  assert.deepEqual(spkiJwk(der(ed)), { ...(ed.export({ format: 'jwk' }) as object) });
  assert.equal(spkiJwk(der(p384)), undefined, 'P-384 keeps the DER import (its JWK import is slower)');
  assert.equal(importSpki(der(p384)).jwk, undefined);
  // A view into a larger buffer (as the CSR reader hands it over) reads only its own bytes.
  const inside = Buffer.concat([Buffer.from('30ff', 'hex'), Buffer.from(der(p256)), Buffer.from('00', 'hex')]);
  assert.deepEqual(spkiJwk(new Uint8Array(inside.buffer, inside.byteOffset + 2, 91)), spkiJwk(der(p256)));
});
