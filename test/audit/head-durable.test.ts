// audit/head.json is the anchor that notices entries cut off the end of the log, so it is written
// like every other file that must survive a crash: temp file, fsync, rename, fsync of the directory.
// The log's own appends are synchronized writes (O_SYNC). Checked on a real `nixca node add`
// process with strace (the system calls, not our intentions).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { NIXCA_BIN, tempDir } from '../helpers/cli.js';

const hasStrace = spawnSync('strace', ['-o', '/dev/null', 'true']).status === 0;

test('audit/head.json is replaced durably: the temp file is fsync\'d before the rename and the directory after it', { skip: hasStrace ? false : 'strace is not installed (Debian package strace)' }, async (t) => {
  const state = await tempDir(t);
  const trace = join(state, 'trace.txt');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,fdatasync,rename,renameat,renameat2,close', '-o', trace, process.execPath, NIXCA_BIN, 'node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.test', '--state', state], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = (await readFile(trace, 'utf8')).split('\n');
  const head = join(state, 'audit', 'head.json');
  const openTmp = lines.findIndex((l) => l.includes(`"${head}.`) && /openat\(/.test(l) && /O_CREAT/.test(l));
  assert.ok(openTmp >= 0, 'the head is written through a temp file');
  const fd = /= (\d+)$/.exec(lines[openTmp]!)![1];
  const fsyncTmp = lines.findIndex((l, i) => i > openTmp && new RegExp(`f(data)?sync\\(${fd}\\)\\s+= 0`).test(l));
  const renameAt = lines.findIndex((l) => /rename/.test(l) && l.includes(`"${head}"`));
  assert.ok(fsyncTmp > openTmp && renameAt > fsyncTmp, 'fsync of the temp file comes before the rename');
  const openDir = lines.findIndex((l, i) => i > renameAt && /openat\(/.test(l) && l.includes(`"${join(state, 'audit')}"`));
  assert.ok(openDir > renameAt, 'the audit directory is opened after the rename');
  const dirFd = /= (\d+)$/.exec(lines[openDir]!)![1];
  assert.ok(lines.some((l, i) => i > openDir && new RegExp(`fsync\\(${dirFd}\\)\\s+= 0`).test(l)), 'and fsync\'d');
  assert.match(await readFile(head, 'utf8'), /^\{"seq":\d+,"hash":"[0-9a-f]{64}"\}\n$/);
  // The log itself is written through a descriptor opened O_SYNC: durable when write returns.
  const log = join(state, 'audit', 'log.jsonl');
  const logOpens = lines.filter((l) => /openat\(/.test(l) && l.includes(`"${log}"`) && /O_WRONLY/.test(l));
  assert.ok(logOpens.length > 0 && logOpens.every((l) => /O_SYNC/.test(l)), logOpens.join('\n'));
});
