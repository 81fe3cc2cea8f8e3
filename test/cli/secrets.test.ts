import assert from 'node:assert/strict';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Io } from '../../cli/io.js';
import { getPassphrase } from '../../cli/secrets.js';
import { spawnCli, tempDir } from '../helpers/cli.js';

function io(env: Record<string, string> = {}, answers?: string[]): Io {
  const queue = [...(answers ?? [])];
  return {
    out: () => undefined,
    err: () => undefined,
    env,
    cwd: process.cwd(),
    interactive: answers !== undefined,
    promptSecret: async () => queue.shift() ?? '',
    now: () => new Date(),
  };
}

const src = { credential: 'nixca-test-passphrase', confirm: true, purpose: 'test key' };

test('a passphrase file loses exactly one trailing newline, keeps other whitespace, and must not be empty', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 'p');
  await writeFile(f, ' correct horse \n', { mode: 0o600 });
  assert.equal(await getPassphrase(io(), { ...src, file: f }), ' correct horse ');
  await writeFile(f, 'two lines\n\n', { mode: 0o600 });
  assert.equal(await getPassphrase(io(), { ...src, file: f }), 'two lines\n');
  await writeFile(f, '\n', { mode: 0o600 });
  await assert.rejects(getPassphrase(io(), { ...src, file: f }), { kind: 'input', message: /is empty/ });
  await assert.rejects(getPassphrase(io(), { ...src, file: join(dir, 'missing') }), { kind: 'io', message: /no such file/ });
});

test('the file wins over a systemd credential, the credential over the prompt', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'creds'));
  await writeFile(join(dir, 'creds', src.credential), 'from-credential\n');
  await writeFile(join(dir, 'file'), 'from-file', { mode: 0o600 });
  const env = { CREDENTIALS_DIRECTORY: join(dir, 'creds') };
  assert.equal(await getPassphrase(io(env, ['from-prompt', 'from-prompt']), { ...src, file: join(dir, 'file') }), 'from-file');
  assert.equal(await getPassphrase(io(env, ['from-prompt', 'from-prompt']), src), 'from-credential');
  assert.equal(await getPassphrase(io({}, ['from-prompt', 'from-prompt']), src), 'from-prompt');
});

test('no source and no terminal is a usage error; the prompt refuses differing or empty answers', async () => {
  await assert.rejects(getPassphrase(io(), src), { kind: 'usage', message: /--passphrase-file/ });
  await assert.rejects(getPassphrase(io({}, ['a', 'b']), src), { kind: 'input', message: /differ/ });
  await assert.rejects(getPassphrase(io({}, ['', '']), src), { kind: 'input', message: /empty/ });
  assert.equal(await getPassphrase(io({}, ['once']), { ...src, confirm: false }), 'once');
});

test('a passphrase file group or others can read is refused by the real CLI (one line, io exit 7) for the ceremony and the issuer; --allow-insecure-passphrase-file accepts it, before or after the subcommand', async (t) => {
  const dir = await tempDir(t);
  const pass = join(dir, 'root.pass');
  await writeFile(pass, 'a passphrase long enough\n', { mode: 0o644 });
  await chmod(pass, 0o640); // group-readable is enough to refuse
  const root = ['root', 'init', '--dir', join(dir, 'root'), '--name', 'Perm Root', '--permit-dns', 'n3x.internal', '--passphrase-file', pass];
  const refused = await spawnCli(root);
  assert.equal(refused.code, 7, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1);
  assert.match(refused.stderr, /^nixca: passphrase file .*root\.pass is readable or writable by group or others \(mode 0640\): chmod 600 it, or give --allow-insecure-passphrase-file/);
  await assert.rejects(stat(join(dir, 'root', 'root.key.pem')), 'nothing was created');

  const issuer = ['issuer', 'init', '--state', join(dir, 'state'), '--name', 'Perm Issuer', '--passphrase-file', pass];
  await mkdir(join(dir, 'state'), { mode: 0o700 });
  const refusedIssuer = await spawnCli(issuer);
  assert.equal(refusedIssuer.code, 7, refusedIssuer.stderr);
  assert.match(refusedIssuer.stderr, /readable or writable by group or others/);

  const accepted = await spawnCli([...root, '--allow-insecure-passphrase-file']);
  assert.equal(accepted.code, 0, accepted.stderr);
  const acceptedIssuer = await spawnCli(['--allow-insecure-passphrase-file', ...issuer]);
  assert.equal(acceptedIssuer.code, 0, acceptedIssuer.stderr);
  await chmod(pass, 0o600);
  const crl = await spawnCli(['root', 'crl', '--dir', join(dir, 'root'), '--out', join(dir, 'root.crl'), '--passphrase-file', pass]);
  assert.equal(crl.code, 0, crl.stderr);
});

test('a --store-password-file group or others can read is refused (io exit 7) before the store is contacted; --allow-insecure-passphrase-file accepts it', async (t) => {
  const dir = await tempDir(t);
  const pw = join(dir, 'db.pass');
  await writeFile(pw, 'database password\n', { mode: 0o600 });
  await chmod(pw, 0o604);
  // A socket directory with no server: once past the check, the command fails on the connection.
  await mkdir(join(dir, 'state'), { mode: 0o700 });
  const store = ['--state', join(dir, 'state'), '--store', `postgres://nixca@/nixca?host=${join(dir, 'no-server')}`, '--store-password-file', pw];
  for (const args of [['cert', 'list', ...store], ['node', 'list', ...store], ['serve', ...store]]) {
    const refused = await spawnCli(args);
    assert.equal(refused.code, 7, `${args[0]}: ${refused.stderr}`);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /^nixca: store password file .*db\.pass is readable or writable by group or others \(mode 0604\): chmod 600 it, or give --allow-insecure-passphrase-file/);
  }
  const accepted = await spawnCli(['--allow-insecure-passphrase-file', 'cert', 'list', ...store]);
  assert.doesNotMatch(accepted.stderr, /readable or writable by group or others/);
  assert.match(accepted.stderr, /cannot use the store .*no-server/, 'past the check: the connection to the missing server fails');
  await chmod(pw, 0o600);
  assert.doesNotMatch((await spawnCli(['cert', 'list', ...store])).stderr, /readable or writable/);
});
