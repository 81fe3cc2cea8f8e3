import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCrl, crlNumberOf, crlToPem } from '../../src/ca/crl.js';
import { createRoot } from '../../src/ca/root.js';
import { tempDir } from '../helpers/cli.js';
import { openssl, put } from './openssl.js';

test('a root CRL verifies with openssl and carries CRL number, AKI, nextUpdate and the entries', async (t) => {
  const dir = await tempDir(t);
  const root = await createRoot({ commonName: 'n3x Internal Root CA', permittedDns: ['n3x.internal'] });
  const now = new Date();
  const crl = await createCrl(
    { certificate: root.certificate, privateKey: root.keys.privateKey },
    { crlNumber: 7, thisUpdate: now, nextUpdate: new Date(now.getTime() + 30 * 86_400_000), entries: [{ serial: '7f01', revokedAt: now, reason: 'keyCompromise' }, { serial: '0102', revokedAt: now }] },
  );
  assert.equal(crlNumberOf(crl), 7);
  const rootPem = await put(dir, 'root.pem', root.certificate.toString('pem'));
  const crlPem = await put(dir, 'root.crl', crlToPem(crl));
  const r = await openssl(['crl', '-in', crlPem, '-CAfile', rootPem, '-verify', '-noout', '-text']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /verify OK/);
  assert.match(r.stdout, /X509v3 CRL Number:\s+7/);
  assert.match(r.stdout, /X509v3 Authority Key Identifier:/);
  assert.match(r.stdout, /Next Update:/);
  assert.match(r.stdout, /Serial Number: 7F01\s+Revocation Date:.*\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise/);
  assert.match(r.stdout, /Serial Number: 0102/);
  // Another root's certificate does not verify it.
  const other = await createRoot({ commonName: 'Other', permittedDns: ['n3x.internal'] });
  const bad = await openssl(['crl', '-in', crlPem, '-CAfile', await put(dir, 'other.pem', other.certificate.toString('pem')), '-verify', '-noout']);
  assert.doesNotMatch(bad.stderr + bad.stdout, /verify OK/);
});
