// The CSR key import refuses the EC point at infinity before OpenSSL sees it: OpenSSL 3 imports it
// into a key on which Node's asymmetricKeyDetails aborts the process, so a request carrying it took
// the whole issuer down at finalize. Shown on the import and on checkCsr (a crash fails this file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { checkCsr } from '../../src/acme/csr.js';
import { importSpkiDer, isEcPointAtInfinity } from '../../src/acme/csr-key.js';
import { AcmeProblem } from '../../src/acme/problems.js';

const tlv = (tag: string, hex: string): string => {
  const n = hex.length / 2;
  return tag + (n < 0x80 ? n.toString(16).padStart(2, '0') : '81' + n.toString(16).padStart(2, '0')) + hex;
};
const EC = '06072a8648ce3d0201';
const CURVES = { 'P-256': '06082a8648ce3d030107', 'P-384': '06052b81040022', 'P-521': '06052b81040023' };
const infinity = (curve: string): Uint8Array => new Uint8Array(Buffer.from(tlv('30', tlv('30', EC + curve) + tlv('03', '0000')), 'hex'));

test('the EC point at infinity is refused on every curve; real keys and other 0x00 octets are not taken for it', () => {
  for (const [name, curve] of Object.entries(CURVES)) {
    assert.equal(isEcPointAtInfinity(infinity(curve)), true, name);
    assert.throws(() => importSpkiDer(infinity(curve)), /point at infinity/, name);
  }
  for (const namedCurve of ['P-256', 'P-384']) {
    const spki = new Uint8Array(generateKeyPairSync('ec', { namedCurve }).publicKey.export({ format: 'der', type: 'spki' }));
    assert.equal(isEcPointAtInfinity(spki), false);
    assert.equal(importSpkiDer(spki).asymmetricKeyType, 'ec');
  }
  // An Ed25519 key that starts with 0x00 is a key like any other.
  const ed = new Uint8Array(Buffer.from('302a300506032b6570032100' + '00' + '11'.repeat(31), 'hex'));
  assert.equal(isEcPointAtInfinity(ed), false);
  assert.equal(importSpkiDer(ed).asymmetricKeyType, 'ed25519');
});

test('checkCsr: a request whose EC key is the point at infinity is badCSR, and the process lives', async () => {
  for (const curve of [CURVES['P-256'], CURVES['P-384']]) {
    const spki = Buffer.from(infinity(curve)).toString('hex');
    const info = tlv('30', '020100' + '3000' + spki + 'a000');
    const der = tlv('30', info + tlv('30', '06082a8648ce3d040302') + tlv('03', '00' + '3006020101020101'));
    await assert.rejects(
      checkCsr(Buffer.from(der, 'hex').toString('base64url'), ['a.node.test'], new Uint8Array(), async () => false),
      (err: unknown) => err instanceof AcmeProblem && err.problem === 'badCSR' && /public key cannot be parsed/.test(err.message),
    );
  }
});
