// RFC 8555 §11.1 in checkCsr: a CSR whose key is any account's key is refused, for every key type
// accounts and certificates share (ECDSA P-256/P-384, RSA, Ed25519). The account side is indexed
// by jose's RFC 7638 thumbprint of the account JWK; the CSR side is computed from the CSR's key, so
// this shows both sides meet for each type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { checkCsr, jwkSpki } from '../../src/acme/csr.js';
import { AcmeProblem } from '../../src/acme/problems.js';
import { testCsr } from './helpers/client.js';

const NAMES = ['a.node.test'];

for (const keyAlgorithm of ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'Ed25519'] as const) {
  test(`§11.1: a ${keyAlgorithm} CSR key that is another account's key is badCSR; a fresh key passes`, async () => {
    const { der, keys } = await testCsr(NAMES, { keyAlgorithm });
    const jwk = (await exportJWK(keys.publicKey)) as JWK;
    const accounts = new Set([await calculateJwkThumbprint(jwk, 'sha256')]);
    const other = await testCsr(NAMES, { keyAlgorithm: 'ECDSA-P256' });
    const ownSpki = jwkSpki((await exportJWK(other.keys.publicKey)) as JWK);
    const b64 = Buffer.from(der).toString('base64url');
    await assert.rejects(
      checkCsr(b64, NAMES, ownSpki, async (tp) => accounts.has(tp)),
      (err: unknown) => err instanceof AcmeProblem && err.problem === 'badCSR' && /key of an ACME account/.test(err.message),
    );
    // The same key as the requesting account's own key: the more specific message.
    await assert.rejects(checkCsr(b64, NAMES, jwkSpki(jwk), async () => false), /uses the account key/);
    const ok = await checkCsr(b64, NAMES, ownSpki, async () => false);
    assert.deepEqual(ok.names, NAMES);
  });
}
