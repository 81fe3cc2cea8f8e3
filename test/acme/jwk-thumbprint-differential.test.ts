// Differential test: the synchronous RFC 7638 thumbprint (src/acme/jwk-thumbprint.ts) against
// jose's calculateJwkThumbprint, on generated public JWKs of every key type ACME accounts and
// certificate keys use, and on damaged ones: the same thumbprint, or both refuse (same error class).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { jwkThumbprint } from '../../src/acme/jwk-thumbprint.js';
import { prng } from '../helpers/prng.js';

const N = 2000;

test(`jwkThumbprint: ${N} generated good and damaged JWKs, the same answer as jose`, async () => {
  const r = prng(7638);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const keys = [
    ...Array.from({ length: 8 }, () => generateKeyPairSync('ec', { namedCurve: pick(['P-256', 'P-384', 'P-521']) })),
    ...Array.from({ length: 2 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 })),
    ...Array.from({ length: 4 }, () => generateKeyPairSync('ed25519')),
  ].map((k) => k.publicKey.export({ format: 'jwk' }) as Record<string, unknown>);
  const odd = [undefined, null, 0, 1, '', 'x', 'é', '\ud800', true, [], {}, 'A'.repeat(600)];
  let same = 0;
  let refused = 0;
  for (let i = 0; i < N; i++) {
    const jwk: Record<string, unknown> = { ...pick(keys) };
    const x = r();
    // Extra members (ignored by §3.2), damaged or missing required ones, other key types.
    if (x < 0.2) jwk[pick(['alg', 'use', 'kid', 'ext', 'd'])] = pick(odd);
    else if (x < 0.5) jwk[pick(['kty', 'crv', 'x', 'y', 'n', 'e', 'k'])] = pick(odd);
    else if (x < 0.6) delete jwk[pick(Object.keys(jwk))];
    else if (x < 0.65) Object.assign(jwk, { kty: 'oct', k: pick(odd) });
    else if (x < 0.7) Object.assign(jwk, { kty: 'AKP', alg: pick(['ML-DSA-44', '', 1]), pub: pick(odd) });
    const ours = (() => {
      try {
        return { tp: jwkThumbprint(jwk as JWK) };
      } catch (err) {
        return { err: (err as Error).constructor.name, message: (err as Error).message };
      }
    })();
    const jose = await calculateJwkThumbprint(jwk as JWK, 'sha256').then(
      (tp) => ({ tp }),
      (err: Error) => ({ err: err.constructor.name, message: err.message }),
    );
    const where = `input ${i}: ${JSON.stringify(jwk).slice(0, 200)}`;
    if ('tp' in jose) {
      assert.deepEqual(ours, jose, where);
      same++;
    } else {
      assert.ok('err' in ours, `${where}: jose refused (${jose.message}), ours answered`);
      assert.equal(ours.err, jose.err, where);
      refused++;
    }
  }
  assert.ok(same > N / 2 && refused > N / 10, `generator balance: ${same} answered, ${refused} refused`);
});
