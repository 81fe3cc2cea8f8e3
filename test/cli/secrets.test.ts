import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Io } from '../../cli/io.js';
import { getPassphrase } from '../../cli/secrets.js';
import { tempDir } from '../helpers/cli.js';

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
  await writeFile(f, ' correct horse \n');
  assert.equal(await getPassphrase(io(), { ...src, file: f }), ' correct horse ');
  await writeFile(f, 'two lines\n\n');
  assert.equal(await getPassphrase(io(), { ...src, file: f }), 'two lines\n');
  await writeFile(f, '\n');
  await assert.rejects(getPassphrase(io(), { ...src, file: f }), { kind: 'input', message: /is empty/ });
  await assert.rejects(getPassphrase(io(), { ...src, file: join(dir, 'missing') }), { kind: 'io', message: /no such file/ });
});

test('the file wins over a systemd credential, the credential over the prompt', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'creds'));
  await writeFile(join(dir, 'creds', src.credential), 'from-credential\n');
  await writeFile(join(dir, 'file'), 'from-file');
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
