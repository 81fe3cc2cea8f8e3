// Operator certificates (src/ca/operator.ts): the profile openssl sees, and the recogniser that
// tells them from ACME leaves of the same intermediate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPair } from '../../src/ca/keys.js';
import { isOperatorCertificate, issueOperatorCertificate, OPERATOR_OU } from '../../src/ca/operator.js';
import { x509 } from '../../src/ca/x509.js';
import { testLeaf, testPki } from '../audit/pki.js';

const run = promisify(execFile);

async function operatorCert(pki: Awaited<ReturnType<typeof testPki>>, name = 'alice', life = 3_600_000) {
  const keys = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  return issueOperatorCertificate(pki.intermediate, { name, publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + life) });
}

test('an operator certificate: clientAuth only, no SAN, operator subject; openssl accepts it for sslclient, refuses it for sslserver', async (t) => {
  const pki = await testPki(['n3x.test']);
  const cert = await operatorCert(pki);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.deepEqual([...eku.usages].map(String), [x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension), null);
  assert.deepEqual(cert.subjectName.getField('OU'), [OPERATOR_OU]);
  const dir = await mkdtemp(join(tmpdir(), 'nixca-operator-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'root.pem'), pki.root.toString('pem'));
  await writeFile(join(dir, 'inter.pem'), pki.intermediate.certificate.toString('pem'));
  await writeFile(join(dir, 'op.pem'), cert.toString('pem'));
  const verify = (purpose: string) => run('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'inter.pem'), '-purpose', purpose, join(dir, 'op.pem')]);
  // Name constraints of the intermediate (permitted DNS) do not get in the way: no DNS name at all.
  const ok = await verify('sslclient');
  assert.match(ok.stdout, /OK/);
  await assert.rejects(verify('sslserver'), /unsupported certificate purpose|verification failed/);
});

test('isOperatorCertificate accepts operator certificates of this intermediate only', async () => {
  const pki = await testPki(['n3x.test']);
  const now = new Date();
  const good = await isOperatorCertificate(await operatorCert(pki, 'bob'), pki.intermediate.certificate, now);
  assert.deepEqual(good.ok && good.name, 'bob');
  const leaf = (await testLeaf(pki, ['cache.alpha.n3x.test'])).cert;
  const acme = await isOperatorCertificate(leaf, pki.intermediate.certificate, now);
  assert.equal(acme.ok, false, 'an ACME leaf (serverAuth) is not an operator certificate');
  const other = await testPki(['n3x.test']);
  const foreign = await isOperatorCertificate(await operatorCert(other), pki.intermediate.certificate, now);
  assert.equal(foreign.ok, false, 'another intermediate\'s operator certificate is refused');
  const expired = await isOperatorCertificate(await operatorCert(pki), pki.intermediate.certificate, new Date(Date.now() + 2 * 3_600_000));
  assert.equal(expired.ok, false);
});

test('operator names are one label without dots; lifetimes are short', async () => {
  const pki = await testPki(['n3x.test']);
  for (const bad of ['alice.ops', 'Alice', '', 'a b', '<x>', 'x'.repeat(64)]) await assert.rejects(operatorCert(pki, bad), /operator name/, bad);
  await assert.rejects(operatorCert(pki, 'alice', 8 * 86_400_000), /at most 7 days/);
});
