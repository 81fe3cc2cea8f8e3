import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { LockTimeoutError, withFileLock } from '../../src/store/lock.js';
import { tempDir } from '../helpers/cli.js';

test('the lock serialises concurrent holders in one process', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 8 }, () =>
      withFileLock(lock, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      }),
    ),
  );
  assert.equal(maxInside, 1);
});

test('while held, the lock file names its holder; a live holder makes others time out', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  await withFileLock(lock, async () => {
    assert.equal(await readFile(lock, 'utf8'), String(process.pid));
    await assert.rejects(withFileLock(lock, async () => 1, 100), LockTimeoutError);
  });
});

test('a lock left by a killed process is taken over', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  await new Promise((r) => child.once('spawn', r));
  await writeFile(lock, String(child.pid));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(await withFileLock(lock, async () => 'taken', 2000), 'taken');
});

test('an empty lock file is taken over only once it is old', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  await writeFile(lock, '');
  await assert.rejects(withFileLock(lock, async () => 1, 100), LockTimeoutError);
  const old = new Date(Date.now() - 60_000);
  await utimes(lock, old, old);
  assert.equal(await withFileLock(lock, async () => 'taken', 2000), 'taken');
});
