// A damaged encrypted key file says "corrupted"; only a wrong passphrase says "wrong passphrase".
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { decryptPrivateKey, encryptPrivateKey, generateKeyPair } from '../../src/ca/keys.js';

const PASS = 'correct horse battery staple';

function repem(der: Buffer): string {
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

it('a corrupted encrypted key says "corrupted"; a wrong passphrase says "wrong passphrase"', async () => {
  const pem = await encryptPrivateKey((await generateKeyPair('ECDSA-P256')).privateKey, PASS);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  await decryptPrivateKey(pem, PASS);
  await assert.rejects(decryptPrivateKey(pem, 'not the passphrase at all'), (e: Error & { code?: string }) => e.code === 'CA_PASSPHRASE_WRONG' && /wrong passphrase/.test(e.message));
  // Damage in the algorithm parameters, in the middle of the ciphertext, a truncation, bad base64.
  const damaged: Array<[string, string]> = [];
  for (const at of [10, 30, 80, der.length - 40]) {
    const d = Buffer.from(der);
    d[at] ^= 0x55;
    damaged.push([`byte ${at} flipped`, repem(d)]);
  }
  damaged.push(['truncated', repem(der.subarray(0, der.length - 16))]);
  damaged.push(['bad base64', pem.replace(/\n[A-Za-z0-9+/]{8}/, '\n!!!!!!!!')]);
  for (const [what, bad] of damaged) {
    await assert.rejects(decryptPrivateKey(bad, PASS), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CA_PEM_INVALID', `${what}: ${e.message}`);
      assert.match(e.message, /corrupted/, what);
      assert.doesNotMatch(e.message, /wrong passphrase/, what);
      return true;
    });
  }
});
