// The whole offline ceremony through the CLI (runCli, --passphrase-file), checked by openssl:
// root init → issuer init → sign-intermediate → issuer install → leaf → revoke → crl → transcript verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadIssuer } from '../../src/ceremony/issuer-dir.js';
import { generateKeyPair } from '../../src/ca/keys.js';
import { issueLeaf, type IssuerMaterial } from '../../src/ca/leaf.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { openssl } from '../ca/openssl.js';

const ROOT_PASS = 'correct horse battery staple';
const ISSUER_PASS = 'issuer passphrase 4 tests';

async function leafPem(issuer: IssuerMaterial, names: string[]) {
  const kp = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const cert = await issueLeaf(issuer, { publicKey: kp.publicKey, dnsNames: names, notBefore: new Date(now - 60_000), notAfter: new Date(now + 7 * 86_400_000) });
  return cert.toString('pem');
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;

test('scripted ceremony through the CLI, accepted by openssl', async (t) => {
  const dir = await tempDir(t);
  const rootDir = join(dir, 'root');
  const state = join(dir, 'state');
  const rootPass = join(dir, 'root.pass');
  const issuerPass = join(dir, 'issuer.pass');
  await writeFile(rootPass, ROOT_PASS + '\n', { mode: 0o600 });
  await writeFile(issuerPass, ISSUER_PASS, { mode: 0o600 });

  let r = await runCli(['root', 'init', '--dir', rootDir, '--name', 'n3x Internal Root CA', '--permit-dns', 'n3x.internal', '--permit-dns', 'n3x.example.com', '--passphrase-file', rootPass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const init = JSON.parse(r.stdout);
  assert.equal(init.subject, 'CN=n3x Internal Root CA');
  assert.deepEqual(init.excludedIp, ['0.0.0.0/0', '::/0']);
  assert.equal(await mode(join(rootDir, 'root.key.pem')), 0o600);
  const rootPem = join(rootDir, 'root.pem');

  // openssl opens the encrypted key with the right passphrase and not with a wrong one.
  const ok = await openssl(['pkey', '-in', join(rootDir, 'root.key.pem'), '-passin', `file:${rootPass}`, '-noout']);
  assert.equal(ok.code, 0, ok.stderr);
  await writeFile(join(dir, 'wrong.pass'), 'not the passphrase at all', { mode: 0o600 });
  const no = await openssl(['pkey', '-in', join(rootDir, 'root.key.pem'), '-passin', `file:${join(dir, 'wrong.pass')}`, '-noout']);
  assert.notEqual(no.code, 0);
  assert.match(no.stderr, /bad decrypt|unable to load/i);

  r = await runCli(['issuer', 'init', '--state', state, '--name', 'n3x Issuing CA 1', '--passphrase-file', issuerPass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const issuerInit = JSON.parse(r.stdout);
  assert.equal(await mode(issuerInit.key), 0o600);
  assert.match(await readFile(issuerInit.key, 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);

  const interOut = join(dir, 'intermediate.pem');
  r = await runCli(['root', 'sign-intermediate', '--dir', rootDir, '--csr', issuerInit.csr, '--out', interOut, '--validity', '1y', '--passphrase-file', rootPass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const signed = JSON.parse(r.stdout);
  assert.equal(signed.spkiSha256, issuerInit.spkiSha256);
  assert.match(signed.serial, /^[0-9a-f]{32}$/);
  const fp = (await openssl(['x509', '-in', interOut, '-noout', '-fingerprint', '-sha256'])).stdout;
  assert.equal(fp.trim().split('=')[1]!.replace(/:/g, '').toLowerCase(), signed.sha256);
  // The text output prints the fingerprint too.
  const interText = (await openssl(['x509', '-in', interOut, '-noout', '-text'])).stdout;
  assert.match(interText, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(interText, /Name Constraints: critical\s+Permitted:\s+DNS:n3x\.internal\s+DNS:n3x\.example\.com/);
  const rootText = (await openssl(['x509', '-in', rootPem, '-noout', '-text'])).stdout;
  assert.match(rootText, /Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  assert.match(rootText, /Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0/);

  r = await runCli(['issuer', 'install', '--state', state, '--cert', interOut, '--root', rootPem, '--passphrase-file', issuerPass]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /issuer installed/);
  // The issuer's audit log (issue #7) records the installation, signed by a key the intermediate certified.
  const { readAudit } = await import('../../src/audit/log.js');
  const audit = await readAudit(state);
  assert.ok(audit.records.some((x) => x.type === 'issuer.installed' && x.subject === signed.serial), JSON.stringify(audit.records));
  r = await runCli(['audit', 'verify', '--state', state]);
  assert.equal(r.code, 0, r.stderr + r.stdout);

  // The ACME server's loader, then a leaf: openssl accepts it; a name outside the subtrees is rejected.
  const issuer = await loadIssuer(state, ISSUER_PASS);
  assert.equal(issuer.root.subject, 'CN=n3x Internal Root CA');
  const good = join(dir, 'leaf.pem');
  await writeFile(good, await leafPem(issuer, ['cache.nuc-1.n3x.internal']));
  const v = await openssl(['verify', '-CAfile', rootPem, '-untrusted', issuer.certificatePath, good]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const bad = join(dir, 'bad.pem');
  await writeFile(bad, await leafPem(issuer, ['cache.example.org']));
  const v2 = await openssl(['verify', '-CAfile', rootPem, '-untrusted', issuer.certificatePath, bad]);
  assert.notEqual(v2.code, 0);
  assert.match(v2.stdout + v2.stderr, /permitted subtree violation/);
  await assert.rejects(loadIssuer(state, 'a wrong passphrase'), (e: unknown) => (e as { code?: string }).code === 'CA_PASSPHRASE_WRONG');

  r = await runCli(['root', 'revoke', '--dir', rootDir, '--serial', signed.serial, '--reason', 'keyCompromise', '--passphrase-file', rootPass]);
  assert.equal(r.code, 0, r.stderr);
  const crlOut = join(dir, 'root.crl');
  r = await runCli(['root', 'crl', '--dir', rootDir, '--out', crlOut, '--next-update', '30d', '--passphrase-file', rootPass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).crlNumber, 1);
  const c = await openssl(['crl', '-in', crlOut, '-CAfile', rootPem, '-verify', '-noout', '-text']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr + c.stdout, /verify OK/);
  assert.match(c.stdout, new RegExp(`Serial Number: ${signed.serial.toUpperCase()}[\\s\\S]*Key Compromise`));
  assert.match(c.stdout, /CRL Number:\s+1/);
  // With the CRL, openssl now refuses the revoked intermediate.
  const rv = await openssl(['verify', '-crl_check', '-CAfile', rootPem, '-CRLfile', crlOut, issuer.certificatePath]);
  assert.match(rv.stdout + rv.stderr, /certificate revoked/);
  // A second CRL has a higher number.
  r = await runCli(['root', 'crl', '--dir', rootDir, '--out', crlOut, '--passphrase-file', rootPass, '--json']);
  assert.equal(JSON.parse(r.stdout).crlNumber, 2);

  r = await runCli(['root', 'transcript', 'verify', '--dir', rootDir, '--root', rootPem, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const tv = JSON.parse(r.stdout);
  assert.equal(tv.valid, true);
  assert.deepEqual(tv.events.map((e: { event: string }) => e.event), ['root.init', 'root.sign-intermediate', 'root.revoke', 'root.crl', 'root.crl']);
  const transcript = await readFile(join(rootDir, 'transcript.jsonl'), 'utf8');
  assert.doesNotMatch(transcript, new RegExp(ROOT_PASS));
  assert.doesNotMatch(transcript, /PRIVATE KEY/);

  // Tampering: edited, removed, reordered entries each fail with exit 1.
  const lines = transcript.trimEnd().split('\n');
  const tamper = async (text: string, why: RegExp) => {
    await writeFile(join(rootDir, 'transcript.jsonl'), text);
    const res = await runCli(['root', 'transcript', 'verify', '--dir', rootDir]);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, why);
    assert.equal(res.stderr.trim().split('\n').length, 1);
  };
  await tamper(transcript.replace('"reason":"keyCompromise"', '"reason":"superseded"'), /line 3: entry 2 \(root\.revoke\): signature does not verify/);
  await tamper([lines[0], lines[1], lines[3], lines[4]].join('\n') + '\n', /line 3: entry has seq 3, expected 2/);
  await tamper([lines[0], lines[2], lines[1], lines[3], lines[4]].join('\n') + '\n', /line 2/);
  await tamper(lines.slice(1).join('\n') + '\n', /line 1/);
  // The newest entry removed: the chain alone is fine, the ledger's recorded head is not.
  await tamper(lines.slice(0, -1).join('\n') + '\n', /ledger recorded .* as its last entry/);
  // A transcript of another root (valid on its own) does not verify against this root.
  await writeFile(join(rootDir, 'transcript.jsonl'), transcript);
  const other = join(dir, 'other');
  assert.equal((await runCli(['root', 'init', '--dir', other, '--name', 'Other', '--permit-dns', 'n3x.internal', '--passphrase-file', rootPass])).code, 0);
  r = await runCli(['root', 'transcript', 'verify', '--dir', rootDir, '--root', join(other, 'root.pem')]);
  assert.equal(r.code, 1);
  // Restored, it verifies again.
  r = await runCli(['root', 'transcript', 'verify', '--dir', rootDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /transcript OK: 5 entries/);
});

test('a real nixca process takes the root passphrase from $CREDENTIALS_DIRECTORY and exits with the table codes', async (t) => {
  const dir = await tempDir(t);
  const creds = join(dir, 'creds');
  await mkdir(creds);
  await writeFile(join(creds, 'nixca-root-passphrase'), ROOT_PASS + '\n');
  const env = { PATH: process.env.PATH, CREDENTIALS_DIRECTORY: creds };
  const rootDir = join(dir, 'root');
  let r = await spawnCli(['root', 'init', '--dir', rootDir, '--name', 'n3x Internal Root CA', '--permit-dns', 'n3x.internal'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await mode(join(rootDir, 'root.key.pem')), 0o600);
  const ok = await openssl(['pkey', '-in', join(rootDir, 'root.key.pem'), '-passin', `file:${join(creds, 'nixca-root-passphrase')}`, '-noout']);
  assert.equal(ok.code, 0, ok.stderr);
  r = await spawnCli(['root', 'init', '--dir', rootDir, '--name', 'again', '--permit-dns', 'n3x.internal'], { env });
  assert.equal(r.code, 5);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  // No passphrase source and no terminal: a usage error, not a hang.
  r = await spawnCli(['root', 'crl', '--dir', rootDir, '--out', join(dir, 'x.crl')], { env: { PATH: process.env.PATH } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no passphrase for the root key/);
});
