// M-of-N custody through the CLI: root init --shares, then root commands with --share files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { openssl } from '../ca/openssl.js';

test('root init --shares 3 --threshold 2: any two shares unlock the root; one, a damaged or a foreign share do not', async (t) => {
  const dir = await tempDir(t);
  const rootDir = join(dir, 'root');
  let r = await runCli(['root', 'init', '--dir', rootDir, '--name', 'n3x Internal Root CA', '--permit-dns', 'n3x.internal', '--shares', '3', '--threshold', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const init = JSON.parse(r.stdout);
  assert.deepEqual(init.shares.files.map((f: string) => f.split('/').pop()), ['share-1-of-3.json', 'share-2-of-3.json', 'share-3-of-3.json']);
  const [s1, s2, s3] = init.shares.files as string[];
  for (const f of init.shares.files) assert.equal((await stat(f)).mode & 0o777, 0o600);
  // The share files hold no passphrase and no key; the key is still encrypted.
  assert.match(await readFile(join(rootDir, 'root.key.pem'), 'utf8'), /ENCRYPTED PRIVATE KEY/);

  const crl = (shares: string[], n: number) => runCli(['root', 'crl', '--dir', rootDir, '--out', join(dir, `root-${n}.crl`), ...shares.flatMap((s) => ['--share', s])]);
  let n = 0;
  for (const pair of [[s1!, s2!], [s1!, s3!], [s3!, s2!], [s1!, s2!, s3!]]) {
    r = await crl(pair, ++n);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await openssl(['crl', '-in', join(dir, `root-${n}.crl`), '-CAfile', join(rootDir, 'root.pem'), '-verify', '-noout'])).code, 0);
  }
  r = await crl([s2!], 99);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /2 of 3 shares are needed, got 1/);

  // One flipped byte inside a share's base64 data: reported, naming that file.
  const damaged = join(dir, 'damaged.json');
  const text = await readFile(s2!, 'utf8');
  const at = text.indexOf('"share": "') + 14;
  await writeFile(damaged, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
  r = await crl([s1!, damaged], 99);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /share .*damaged\.json \(custodian 2\) is damaged/);

  // A share of another root's passphrase.
  const other = join(dir, 'other');
  r = await runCli(['root', 'init', '--dir', other, '--name', 'Other Root', '--permit-dns', 'n3x.internal', '--shares', '2', '--threshold', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const foreign = JSON.parse(r.stdout).shares.files[1] as string;
  r = await crl([s1!, foreign], 99);
  assert.equal(r.code, 6);
  assert.match(r.stderr, new RegExp(`share ${foreign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} belongs to another root \\("Other Root"`));
  r = await crl([s1!, join(dir, 'missing.json')], 99);
  assert.equal(r.code, 7);
  assert.match(r.stderr, /cannot read share file .*missing\.json/);
  // None of the refused attempts wrote a CRL.
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.crl')).sort(), ['root-1.crl', 'root-2.crl', 'root-3.crl', 'root-4.crl']);

  r = await runCli(['root', 'transcript', 'verify', '--dir', rootDir]);
  assert.equal(r.code, 0, r.stderr);
});

test('--shares with --passphrase-file splits that passphrase: either the passphrase or M shares open the root', async (t) => {
  const dir = await tempDir(t);
  const rootDir = join(dir, 'root');
  const pass = join(dir, 'pass');
  await writeFile(pass, 'a passphrase the operator also keeps', { mode: 0o600 });
  await mkdir(rootDir); // an existing EMPTY directory is fine
  let r = await runCli(['root', 'init', '--dir', rootDir, '--name', 'R', '--permit-dns', 'n3x.internal', '--shares', '2', '--threshold', '2', '--shares-dir', join(dir, 'usb'), '--passphrase-file', pass, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const files = JSON.parse(r.stdout).shares.files as string[];
  assert.ok(files.every((f) => f.startsWith(join(dir, 'usb'))));
  assert.equal((await openssl(['pkey', '-in', join(rootDir, 'root.key.pem'), '-passin', `file:${pass}`, '-noout'])).code, 0);
  r = await runCli(['root', 'crl', '--dir', rootDir, '--out', join(dir, 'a.crl'), '--share', files[0]!, '--share', files[1]!]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['root', 'crl', '--dir', rootDir, '--out', join(dir, 'b.crl'), '--passphrase-file', pass]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['root', 'crl', '--dir', rootDir, '--out', join(dir, 'c.crl'), '--passphrase-file', pass, '--share', files[0]!]);
  assert.equal(r.code, 2);
});
