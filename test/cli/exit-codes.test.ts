// The README's exit-code table, row by row, against real failing commands: the table is read from
// README.md (so the documentation and the code cannot drift), and each kind has a command that
// fails that way for real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '../../cli/errors.js';
import { freePort, NIXCA_BIN, runCli, tempDir, type CliResult } from '../helpers/cli.js';

const README = resolve(fileURLToPath(import.meta.url), '../../../../README.md');

function readmeTable(): Map<string, number> {
  const rows = [...readFileSync(README, 'utf8').matchAll(/^\| (\d+) \| ([a-z-]+) \|/gm)];
  return new Map(rows.map((m) => [m[2]!, Number(m[1])]));
}

function fails(r: CliResult, kind: string, re: RegExp) {
  assert.equal(r.code, readmeTable().get(kind), `${kind}: exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

test('the README table is the code table', () => {
  assert.deepEqual(Object.fromEntries(readmeTable()), { success: 0, ...EXIT_CODES });
});

test('each row of the exit-code table, from a real failing command', async (t) => {
  const dir = await tempDir(t);
  const S = ['--state', join(dir, 'state')];
  await mkdir(join(dir, 'state'), { mode: 0o700 });
  const ok = async (args: string[]) => {
    const r = await runCli(args, { cwd: dir });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await ok(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', ...S]);

  // usage: unknown command; an impossible --threshold.
  fails(await runCli(['frobnicate']), 'usage', /unknown command 'frobnicate'/);
  fails(await runCli(['root', 'init', '--dir', join(dir, 'r0'), '--name', 'x', '--permit-dns', 'n3x.internal', '--shares', '3', '--threshold', '5'], { cwd: dir }), 'usage', /--threshold must be at least 2 and at most --shares/);
  // input: a file that is no certificate.
  await writeFile(join(dir, 'garbage.pem'), 'garbage\n');
  fails(await runCli(['inspect', join(dir, 'garbage.pem')]), 'input', /not a certificate/);
  // not-found: an unknown node.
  fails(await runCli(['node', 'show', 'nuc-9', ...S]), 'not-found', /no node named "nuc-9"/);
  // conflict: already exists.
  fails(await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', ...S]), 'conflict', /already exists/);
  // policy: an unsafe key rotation step (promoting a next key before it was published long enough).
  await ok(['key', 'rotate', 'nuc-1', '--secret-out', join(dir, 'k1.sec'), ...S]);
  await ok(['key', 'rotate', 'nuc-1', ...S]);
  await ok(['key', 'rotate', 'nuc-1', '--secret-out', join(dir, 'k2.sec'), ...S]);
  fails(await runCli(['key', 'rotate', 'nuc-1', ...S]), 'policy', /refusing to promote/);
  // auth: the wrong passphrase for the root key.
  const pass = join(dir, 'root.pass');
  await writeFile(pass, 'correct horse battery staple\n', { mode: 0o600 });
  await writeFile(join(dir, 'wrong.pass'), 'wrong horse battery staple!\n', { mode: 0o600 });
  await ok(['root', 'init', '--dir', join(dir, 'root'), '--name', 'Exit Code Root', '--permit-dns', 'n3x.internal', '--passphrase-file', pass]);
  fails(await runCli(['root', 'crl', '--dir', join(dir, 'root'), '--out', join(dir, 'root.crl'), '--passphrase-file', join(dir, 'wrong.pass')]), 'auth', /passphrase/);
  // io: an unreadable file.
  fails(await runCli(['root', 'crl', '--dir', join(dir, 'root'), '--out', join(dir, 'root.crl'), '--passphrase-file', join(dir, 'missing.pass')]), 'io', /missing\.pass/);
  // check (last: a damaged log stops every later write): a verification that ran and said no (a tampered audit log).
  await appendFile(join(dir, 'state', 'audit', 'log.jsonl'), '{"seq":99}\n');
  fails(await runCli(['audit', 'verify', '--allow-uncertified', ...S]), 'check', /audit log/);
});

test('io: a store another process is writing (a second serve on the same state) is exit 7', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'dev');
  const first = spawn(process.execPath, [NIXCA_BIN, 'serve', '--dev', '--state', state, '--listen', `127.0.0.1:${await freePort()}`, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void first.kill('SIGKILL'));
  let log = '';
  await new Promise<void>((resolvePromise, reject) => {
    first.stdout.on('data', (d) => {
      log += d;
      if (/listening on/.test(log)) resolvePromise();
    });
    first.on('exit', (code) => reject(new Error(`first serve exited ${code}: ${log}`)));
  });
  const second = await runCli(['serve', '--dev', '--state', state, '--listen', `127.0.0.1:${await freePort()}`, '--log-level', 'silent'], { cwd: dir });
  fails({ ...second, stderr: second.stderr.split('\n').filter((l) => l.startsWith('nixca:')).join('\n') }, 'io', /another process .* is its writer/);
});
