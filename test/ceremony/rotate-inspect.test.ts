import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadIssuer } from '../../src/ceremony/issuer-dir.js';
import { generateKeyPair } from '../../src/ca/keys.js';
import { issueLeaf } from '../../src/ca/leaf.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { openssl } from '../ca/openssl.js';

test('root rotate: the new root is cross-signed by the old one; both transcripts verify', async (t) => {
  const dir = await tempDir(t);
  const pass = join(dir, 'pass');
  const newPass = join(dir, 'newpass');
  const ipass = join(dir, 'ipass');
  await writeFile(pass, 'old root passphrase!', { mode: 0o600 });
  await writeFile(newPass, 'new root passphrase!', { mode: 0o600 });
  await writeFile(ipass, 'issuer passphrase!!', { mode: 0o600 });
  const oldDir = join(dir, 'root1');
  const newDir = join(dir, 'root2');
  assert.equal((await runCli(['root', 'init', '--dir', oldDir, '--name', 'n3x Root 1', '--permit-dns', 'n3x.internal', '--passphrase-file', pass])).code, 0);
  let r = await runCli(['root', 'rotate', '--dir', oldDir, '--new-dir', newDir, '--passphrase-file', pass, '--new-passphrase-file', newPass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rot = JSON.parse(r.stdout);
  assert.deepEqual(rot.newRoot.permittedDns, ['n3x.internal']);
  // An issuer under the NEW root; a client that trusts only the OLD root verifies its leaf via the cross-certificate.
  const state = join(dir, 'state');
  assert.equal((await runCli(['issuer', 'init', '--state', state, '--name', 'Issuing 2', '--passphrase-file', ipass])).code, 0);
  r = await runCli(['root', 'sign-intermediate', '--dir', newDir, '--csr', join(state, 'issuer', 'intermediate.csr.pem'), '--out', join(dir, 'i2.pem'), '--passphrase-file', newPass]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['issuer', 'install', '--state', state, '--cert', join(dir, 'i2.pem'), '--root', join(newDir, 'root.pem'), '--passphrase-file', ipass]);
  assert.equal(r.code, 0, r.stderr);
  const issuer = await loadIssuer(state, 'issuer passphrase!!');
  const kp = await generateKeyPair('ECDSA-P256');
  const leaf = await issueLeaf(issuer, { publicKey: kp.publicKey, dnsNames: ['cache.n3x.internal'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
  await writeFile(join(dir, 'leaf.pem'), leaf.toString('pem'));
  const untrusted = join(dir, 'untrusted.pem');
  await writeFile(untrusted, (await readFile(join(dir, 'i2.pem'), 'utf8')) + (await readFile(rot.cross.path, 'utf8')));
  const viaOld = await openssl(['verify', '-CAfile', join(oldDir, 'root.pem'), '-untrusted', untrusted, join(dir, 'leaf.pem')]);
  assert.equal(viaOld.code, 0, viaOld.stdout + viaOld.stderr);
  const viaNew = await openssl(['verify', '-CAfile', join(newDir, 'root.pem'), '-untrusted', join(dir, 'i2.pem'), join(dir, 'leaf.pem')]);
  assert.equal(viaNew.code, 0, viaNew.stdout + viaNew.stderr);
  // Without the cross-certificate the old root alone does not reach the new chain.
  const noCross = await openssl(['verify', '-CAfile', join(oldDir, 'root.pem'), '-untrusted', join(dir, 'i2.pem'), join(dir, 'leaf.pem')]);
  assert.notEqual(noCross.code, 0);
  for (const d of [oldDir, newDir]) {
    r = await runCli(['root', 'transcript', 'verify', '--dir', d, '--json']);
    assert.equal(r.code, 0, r.stderr);
  }
  const oldEvents = JSON.parse((await runCli(['root', 'transcript', 'verify', '--dir', oldDir, '--json'])).stdout).events.map((e: { event: string }) => e.event);
  assert.deepEqual(oldEvents, ['root.init', 'root.rotate']);
  const newEvents = JSON.parse((await runCli(['root', 'transcript', 'verify', '--dir', newDir, '--json'])).stdout).events.map((e: { event: string }) => e.event);
  assert.deepEqual(newEvents, ['root.init', 'root.cross-signed', 'root.sign-intermediate']);
  // The old root keeps its own copy of the cross-certificate (DIR/cross/SERIAL.pem).
  const crossSerial = JSON.parse(await readFile(join(oldDir, 'ledger.json'), 'utf8')).crossCertificates[0].serial;
  assert.equal(await readFile(join(oldDir, 'cross', `${crossSerial}.pem`), 'utf8'), await readFile(join(newDir, 'cross-signed-by-previous-root.pem'), 'utf8'));
  assert.equal(rot.newRoot.subject, 'CN=n3x Root 1');
  assert.notEqual(rot.newRoot.sha256, JSON.parse((await runCli(['inspect', join(oldDir, 'root.pem'), '--json'])).stdout).sha256);
  // A new name cannot be cross-signed under pathLen 1; --no-cross makes the new root alone.
  r = await runCli(['root', 'rotate', '--dir', oldDir, '--new-dir', join(dir, 'root4'), '--name', 'n3x Root 4', '--passphrase-file', pass, '--new-passphrase-file', newPass]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pathLen 1 only exempts self-issued/);
  await assert.rejects(readFile(join(dir, 'root4', 'root.pem')));
  r = await runCli(['root', 'rotate', '--dir', oldDir, '--new-dir', join(dir, 'root4'), '--name', 'n3x Root 4', '--no-cross', '--passphrase-file', pass, '--new-passphrase-file', newPass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).newRoot.subject, 'CN=n3x Root 4');
  // A wrong old passphrase creates nothing.
  r = await runCli(['root', 'rotate', '--dir', oldDir, '--new-dir', join(dir, 'root3'), '--passphrase-file', newPass, '--new-passphrase-file', newPass]);
  assert.equal(r.code, 6);
  await assert.rejects(readFile(join(dir, 'root3', 'root.pem')));
});

test('inspect shows certificates, CSRs and CRLs in PEM and DER, as text and JSON', async (t) => {
  const dir = await tempDir(t);
  const pass = join(dir, 'pass');
  await writeFile(pass, 'root passphrase for inspect', { mode: 0o600 });
  const rootDir = join(dir, 'root');
  assert.equal((await runCli(['root', 'init', '--dir', rootDir, '--name', 'n3x Internal Root CA', '--permit-dns', 'n3x.internal', '--passphrase-file', pass])).code, 0);
  const rootPem = join(rootDir, 'root.pem');
  let r = await runCli(['inspect', rootPem, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.type, 'certificate');
  assert.equal(v.selfSigned, true);
  assert.deepEqual(v.basicConstraints, { ca: true, pathLen: 1, critical: true });
  assert.deepEqual(v.keyUsage, { usages: ['keyCertSign', 'cRLSign'], critical: true });
  assert.deepEqual(v.nameConstraints.permittedDns, ['n3x.internal']);
  assert.equal(v.subjectKeyId, v.authorityKeyId);
  const fp = (await openssl(['x509', '-in', rootPem, '-noout', '-fingerprint', '-sha256'])).stdout.trim().split('=')[1]!;
  assert.equal(v.sha256, fp.replace(/:/g, '').toLowerCase());
  r = await runCli(['inspect', rootPem]);
  assert.match(r.stdout, /basic constraints:\s+CA:TRUE, pathLen 1 \(critical\)/);
  assert.match(r.stdout, new RegExp(`SHA-256:\\s+${fp}`));

  const der = join(dir, 'root.der');
  assert.equal((await openssl(['x509', '-in', rootPem, '-outform', 'DER', '-out', der])).code, 0);
  assert.equal(JSON.parse((await runCli(['inspect', der, '--json'])).stdout).sha256, v.sha256);

  assert.equal((await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k'), '-subj', '/CN=x', '-addext', 'subjectAltName=DNS:a.n3x.internal', '-outform', 'DER', '-out', join(dir, 'r.der')])).code, 0);
  const csr = JSON.parse((await runCli(['inspect', join(dir, 'r.der'), '--json'])).stdout);
  assert.equal(csr.type, 'csr');
  assert.equal(csr.signatureValid, true);
  assert.deepEqual(csr.requestedExtensions.subjectAltNames, ['dns:a.n3x.internal']);

  assert.equal((await runCli(['root', 'crl', '--dir', rootDir, '--out', join(dir, 'root.crl'), '--passphrase-file', pass])).code, 0);
  const crl = JSON.parse((await runCli(['inspect', join(dir, 'root.crl'), '--json'])).stdout);
  assert.equal(crl.type, 'crl');
  assert.equal(crl.crlNumber, 1);
  assert.deepEqual(crl.entries, []);

  // A PEM bundle shows every block; --json is then an array.
  await writeFile(join(dir, 'bundle.pem'), (await readFile(rootPem, 'utf8')) + (await readFile(join(dir, 'root.crl'), 'utf8')));
  const bundle = JSON.parse((await runCli(['inspect', join(dir, 'bundle.pem'), '--json'])).stdout);
  assert.deepEqual(bundle.map((b: { type: string }) => b.type), ['certificate', 'crl']);

  await writeFile(join(dir, 'junk'), 'hello');
  r = await runCli(['inspect', join(dir, 'junk')]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /not a certificate, CSR or CRL/);
  r = await runCli(['inspect', join(rootDir, 'root.key.pem')]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /private key/);
  assert.doesNotMatch(r.stdout + r.stderr, /BEGIN/);
});

test('every ceremony command has --help', async () => {
  for (const args of [['root', 'init'], ['root', 'sign-intermediate'], ['root', 'revoke'], ['root', 'crl'], ['root', 'rotate'], ['root', 'transcript', 'verify'], ['issuer', 'init'], ['issuer', 'install'], ['inspect']]) {
    const r = await runCli([...args, '--help']);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: nixca/);
    assert.match(r.stdout, /--json/);
  }
});
