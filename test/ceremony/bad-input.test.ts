// Bad input to the ceremony: each gets one clear line on stderr, the exit code of its kind, and
// leaves every file as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { holdLockInChild } from '../helpers/lock.js';
import { openssl } from '../ca/openssl.js';

const ROOT_PASS = 'correct horse battery staple';

/**
 * Every file under `dir` with its content hash: compared before and after a failing command. The
 * root's `.lock` is left out: it is only where the kernel lock is taken (src/store/lock.ts), empty
 * when no command runs, and stays in place by design.
 */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name !== '.lock') out[p] = createHash('sha256').update(await readFile(p)).digest('hex') + ':' + ((await stat(p)).mode & 0o777).toString(8);
    }
  };
  await walk(dir);
  return out;
}

function fails(r: CliResult, code: number, message: RegExp) {
  assert.equal(r.code, code, `exit ${r.code}: ${r.stderr}${r.stdout}`);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  assert.match(r.stderr, /^nixca: /);
}

test('bad input leaves everything as it was', async (t) => {
  const dir = await tempDir(t);
  const rootDir = join(dir, 'root');
  const pass = join(dir, 'pass');
  const wrong = join(dir, 'wrong');
  await writeFile(pass, ROOT_PASS, { mode: 0o600 });
  await writeFile(wrong, 'this is not the passphrase', { mode: 0o600 });
  let r = await runCli(['root', 'init', '--dir', rootDir, '--name', 'n3x Internal Root CA', '--permit-dns', 'n3x.internal', '--passphrase-file', pass]);
  assert.equal(r.code, 0, r.stderr);
  // A good CSR from openssl (a plain one is accepted), a CA:true one and a broken one.
  const key = join(dir, 'k.pem');
  const req = async (out: string, extra: string[] = []) => {
    const res = await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=n3x Issuing CA 1', '-out', join(dir, out), ...extra]);
    assert.equal(res.code, 0, res.stderr);
    return join(dir, out);
  };
  const goodCsr = await req('good.csr');
  const caCsr = await req('ca.csr', ['-addext', 'basicConstraints=critical,CA:TRUE']);
  const derPath = join(dir, 'good.der');
  assert.equal((await openssl(['req', '-in', goodCsr, '-outform', 'DER', '-out', derPath])).code, 0);
  const broken = Buffer.from(await readFile(derPath));
  broken[broken.length - 2]! ^= 0x01; // inside the signature
  const brokenCsr = join(dir, 'broken.der');
  await writeFile(brokenCsr, broken);
  const out = join(dir, 'out', 'intermediate.pem');
  await mkdir(join(dir, 'out'));

  const before = await snapshot(dir);
  const sign = (csr: string, ...extra: string[]) => runCli(['root', 'sign-intermediate', '--dir', rootDir, '--csr', csr, '--out', out, ...extra]);

  fails(await sign(goodCsr, '--passphrase-file', wrong), 6, /wrong passphrase/);
  fails(await sign(brokenCsr, '--passphrase-file', pass), 3, /CSR signature does not verify/);
  fails(await sign(caCsr, '--passphrase-file', pass), 8, /requests basicConstraints CA:TRUE/);
  fails(await sign(join(dir, 'missing.csr'), '--passphrase-file', pass), 7, /cannot read CSR .*missing\.csr: no such file/);
  fails(await sign(join(dir, 'out'), '--passphrase-file', pass), 7, /is a directory/);
  fails(await sign(goodCsr, '--passphrase-file', join(dir, 'nope')), 7, /cannot read passphrase file/);
  fails(await sign(goodCsr, '--passphrase-file', pass, '--permit-dns', 'example.org'), 8, /outside the root's/);
  fails(await sign(goodCsr, '--passphrase-file', pass, '--validity', '11y'), 3, /after the root/);
  fails(await sign(goodCsr, '--passphrase-file', pass, '--validity', 'soon'), 2, /--validity must be a duration/);
  fails(await sign(goodCsr), 2, /no passphrase for the root key/);
  fails(await runCli(['root', 'init', '--dir', rootDir, '--name', 'Again', '--permit-dns', 'n3x.internal', '--passphrase-file', pass]), 5, /already holds a root; refusing to overwrite/);
  fails(await runCli(['root', 'init', '--dir', join(dir, 'out', '..'), '--name', 'Again', '--permit-dns', 'n3x.internal', '--passphrase-file', pass]), 5, /is not empty/);
  fails(await runCli(['root', 'revoke', '--dir', rootDir, '--serial', '01', '--passphrase-file', pass]), 4, /no intermediate with serial 01/);
  fails(await runCli(['root', 'crl', '--dir', join(dir, 'out'), '--out', join(dir, 'x.crl'), '--passphrase-file', pass]), 4, /is not a root directory/);
  fails(await runCli(['root', 'transcript', 'verify', '--dir', rootDir, '--root', pass]), 3, /is not a certificate/);
  assert.deepEqual(await snapshot(dir), before);

  // Input errors of root init write nothing either.
  const fresh = join(dir, 'fresh');
  fails(await runCli(['root', 'init', '--dir', fresh, '--name', 'R', '--passphrase-file', pass]), 3, /at least one permitted DNS subtree/);
  fails(await runCli(['root', 'init', '--dir', fresh, '--name', 'R', '--permit-dns', '*.bad', '--passphrase-file', pass]), 3, /not a DNS name subtree/);
  await writeFile(join(dir, 'short'), 'short', { mode: 0o600 });
  fails(await runCli(['root', 'init', '--dir', fresh, '--name', 'R', '--permit-dns', 'n3x.internal', '--passphrase-file', join(dir, 'short')]), 3, /at least 12 characters/);
  fails(await runCli(['root', 'init', '--dir', fresh, '--name', 'R', '--permit-dns', 'n3x.internal', '--shares', '3', '--threshold', '4']), 2, /--threshold must be at least 2 and at most --shares/);
  fails(await runCli(['root', 'init', '--dir', fresh, '--name', 'R', '--permit-dns', 'n3x.internal'], { prompts: [ROOT_PASS, ROOT_PASS + 'x'] }), 3, /the two passphrases differ/);
  await assert.rejects(stat(fresh));

  // Another live nixca on the same root: refused (exit 5); a lock left by a dead process is taken over.
  const holder = await holdLockInChild(join(rootDir, '.lock'));
  fails(await sign(goodCsr, '--passphrase-file', pass), 5, /another nixca command is working on/);
  await holder.stop('SIGKILL');
  await writeFile(join(rootDir, '.lock'), String(process.pid));
  fails(await runCli(['root', 'revoke', '--dir', rootDir, '--serial', '01', '--passphrase-file', pass]), 4, /no intermediate with serial 01/);

  // The good CSR still signs after all that (the refusals were not a broken root).
  r = await sign(goodCsr, '--passphrase-file', pass);
  assert.equal(r.code, 0, r.stderr);
  fails(await sign(goodCsr, '--passphrase-file', pass), 5, /already exists; refusing to overwrite/);
  // transcript verify takes the root certificate as PEM or DER.
  const derRoot = join(dir, 'root.der');
  assert.equal((await openssl(['x509', '-in', join(rootDir, 'root.pem'), '-outform', 'DER', '-out', derRoot])).code, 0);
  r = await runCli(['root', 'transcript', 'verify', '--dir', rootDir, '--root', derRoot]);
  assert.equal(r.code, 0, r.stderr);
});

test('issuer init and install refuse what does not fit', async (t) => {
  const dir = await tempDir(t);
  const pass = join(dir, 'pass');
  await writeFile(pass, ROOT_PASS, { mode: 0o600 });
  const ipass = join(dir, 'ipass');
  await writeFile(ipass, 'issuer passphrase 4 tests', { mode: 0o600 });
  const state = join(dir, 'state');
  const state2 = join(dir, 'state2');
  for (const [d, n] of [[join(dir, 'root'), 'Root A'], [join(dir, 'rootb'), 'Root B']] as const) {
    assert.equal((await runCli(['root', 'init', '--dir', d, '--name', n, '--permit-dns', 'n3x.internal', '--passphrase-file', pass])).code, 0);
  }
  for (const s of [state, state2]) assert.equal((await runCli(['issuer', 'init', '--state', s, '--name', 'Issuing', '--passphrase-file', ipass])).code, 0);
  fails(await runCli(['issuer', 'init', '--state', state, '--name', 'Issuing', '--passphrase-file', ipass]), 5, /already exists; refusing to replace the issuer key/);
  const sign = async (rootDir: string, csrState: string, out: string) => {
    const res = await runCli(['root', 'sign-intermediate', '--dir', rootDir, '--csr', join(csrState, 'issuer', 'intermediate.csr.pem'), '--out', out, '--passphrase-file', pass]);
    assert.equal(res.code, 0, res.stderr);
    return out;
  };
  const certA = await sign(join(dir, 'root'), state, join(dir, 'a.pem'));
  const certOtherKey = await sign(join(dir, 'root'), state2, join(dir, 'a2.pem'));
  const before = await snapshot(state);
  const install = (cert: string, root: string, p = ipass) => runCli(['issuer', 'install', '--state', state, '--cert', cert, '--root', root, '--passphrase-file', p]);
  fails(await install(certA, join(dir, 'rootb', 'root.pem')), 3, /not signed by this root/);
  fails(await install(certOtherKey, join(dir, 'root', 'root.pem')), 3, /not for the key/);
  fails(await install(certA, join(dir, 'root', 'root.pem'), pass), 6, /wrong passphrase/);
  fails(await install(join(dir, 'root', 'root.pem'), join(dir, 'root', 'root.pem')), 3, /the root's own key/);
  fails(await install(pass, join(dir, 'root', 'root.pem')), 3, /is not a certificate/);
  assert.deepEqual(await snapshot(state), before);
  assert.equal((await install(certA, join(dir, 'root', 'root.pem'))).code, 0);
});
