// A damaged encrypted key file says "corrupted"; only a wrong passphrase says "wrong passphrase".
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
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

it('a wrong passphrase whose garbage passes the CBC padding check is still "wrong passphrase"; damage in the last block says "corrupted"', async () => {
  const pem = await encryptPrivateKey((await generateKeyPair('ECDSA-P256')).privateKey, PASS);
  // About one wrong key in 256 decrypts to valid padding, so OpenSSL fails later, on the PKCS#8
  // structure: collect such passphrases (the case a padding-only rule misreads as damage).
  const lucky: string[] = [];
  for (let i = 0; lucky.length < 2 && i < 8000; i++) {
    try {
      createPrivateKey({ key: pem, format: 'pem', passphrase: `wrong passphrase ${i}` });
    } catch (err) {
      if (!/bad decrypt/i.test((err as Error).message)) lucky.push(`wrong passphrase ${i}`);
    }
  }
  assert.equal(lucky.length, 2, 'no wrong passphrase passed the padding check in 8,000 tries');
  for (const p of lucky) {
    await assert.rejects(decryptPrivateKey(pem, p), (e: Error & { code?: string }) => e.code === 'CA_PASSPHRASE_WRONG' && /wrong passphrase/.test(e.message));
  }
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const d = Buffer.from(der);
  d[der.length - 3] ^= 0x55;
  await assert.rejects(decryptPrivateKey(repem(d), PASS), (e: Error & { code?: string }) => e.code === 'CA_PEM_INVALID' && /corrupted/.test(e.message));
});

it('damage OpenSSL still parses but WebCrypto refuses says "corrupted", never an internal error (every ciphertext byte of a P-384 key)', async () => {
  const pem = await encryptPrivateKey((await generateKeyPair('ECDSA-P384')).privateKey, PASS);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  let parsedByOpenssl = 0;
  // The ciphertext is the last OCTET STRING; flip one bit in each of its bytes but the last two blocks.
  for (let at = der.length - 176; at < der.length - 32; at++) {
    const d = Buffer.from(der);
    d[at] ^= 0x40;
    const bad = repem(d);
    try {
      createPrivateKey({ key: bad, format: 'pem', passphrase: PASS });
      parsedByOpenssl++;
    } catch {
      // refused by OpenSSL already: covered above
    }
    await decryptPrivateKey(bad, PASS).then(
      () => undefined, // damage to the private scalar alone can import; the root or issuer certificate check catches it
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CA_PEM_INVALID', `byte ${at}: ${e.message}`);
        assert.match(e.message, /corrupted/);
      },
    );
  }
  assert.ok(parsedByOpenssl > 0, 'no damage reached WebCrypto: the case is not exercised');
});
