import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireFileLock, LockTimeoutError, tryFileLock, withFileLock } from '../../src/store/lock.js';
import { tempDir } from '../helpers/cli.js';
import { holdLockInChild } from '../helpers/lock.js';

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

test('while held, the lock file names its holder; released, it is empty and stays in place', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  await withFileLock(lock, async () => {
    assert.equal((await readFile(lock, 'utf8')).trim(), String(process.pid));
    await assert.rejects(withFileLock(lock, async () => 1, 100), (err: Error) => err instanceof LockTimeoutError && err.message.includes(`process ${process.pid}`));
  });
  assert.equal(await readFile(lock, 'utf8'), '');
  assert.equal((await stat(lock)).mode & 0o777, 0o600);
});

test('a holder in another process blocks; killed with SIGKILL, the kernel releases its lock at once', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  const holder = await holdLockInChild(lock);
  t.after(() => holder.stop('SIGKILL'));
  assert.equal(await tryFileLock(lock), undefined);
  await assert.rejects(acquireFileLock(lock, 100), (err: Error) => err instanceof LockTimeoutError && err.message.includes(`process ${holder.pid}`));
  await holder.stop('SIGKILL');
  const mine = await tryFileLock(lock);
  assert.ok(mine, 'taken as soon as the holder is gone, with no staleness rule');
  await mine.release();
});

test('a waiter gets the lock when the holder in another process lets go', async (t) => {
  const lock = join(await tempDir(t), 'x.lock');
  const holder = await holdLockInChild(lock);
  t.after(() => holder.stop('SIGKILL'));
  const waiting = acquireFileLock(lock, 20_000);
  await new Promise((r) => setTimeout(r, 50));
  await holder.stop();
  await (await waiting).release();
});

test('a lock file naming a live unrelated process (a PID reused after a reboot) does not block', async (t) => {
  const dir = await tempDir(t);
  for (const pid of [process.pid, 1, 4194000]) {
    const lock = join(dir, `${pid}.lock`);
    await writeFile(lock, `${pid}\n`);
    assert.equal(await withFileLock(lock, async () => 'taken', 0), 'taken');
  }
});
