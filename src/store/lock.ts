// Cross-process advisory locks for state that several `nixca` processes may write (the CLI edits
// the inventory and appends to the audit log while `nixca serve` runs; one writer per ACME store).
//
// Each lock is an open file description holding a Linux OFD lock (fcntl F_OFD_SETLK, through
// fs-native-extensions; flock(2) on other platforms). The kernel drops it when the description is
// closed or the holder dies, however it dies (kill -9, OOM, power loss followed by reboot), so a
// lock can never be left behind and there is no "stale lock" to judge. The file's content (the
// holder's PID) is only for messages: it never decides anything, so a file naming a live,
// unrelated process (a PID reused after a reboot) blocks nothing.
//
// Lock files are never removed: unlinking one while another process waits on the old inode would
// let a third process lock a new inode at the same path, and two holders would both believe they
// hold the lock.
import { closeSync, constants, ftruncate, openSync, write } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const fsx = createRequire(import.meta.url)('fs-native-extensions') as { tryLock(fd: number): boolean };
const ftruncateAsync = promisify(ftruncate);
const writeAsync = promisify(write);
/** This process's PID as the lock file holds it: padded to a fixed width, read back trimmed. */
const PID_LINE = `${process.pid}`.padEnd(15) + '\n';

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
}

export interface FileLock {
  readonly path: string;
  /** Unlocks (closes the description). Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the lock if it is free now; undefined when another description (any process) holds it.
 * Opening the existing lock file and closing it are done synchronously: neither changes the file
 * (no journal transaction to wait for), and a thread-pool round trip costs several times the system
 * call. The PID writes change the file and stay asynchronous.
 */
export async function tryFileLock(lockPath: string): Promise<FileLock | undefined> {
  const fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT, 0o600);
  let locked: boolean;
  try {
    locked = fsx.tryLock(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (!locked) {
    closeSync(fd);
    return undefined;
  }
  // One write of a fixed width replaces whatever a holder that died left (it had no time to clear it).
  await writeAsync(fd, PID_LINE, 0).catch(() => undefined);
  return heldLock(lockPath, fd);
}

function heldLock(path: string, fd: number): FileLock {
  let open: number | undefined = fd;
  return {
    path,
    async release() {
      const h = open;
      open = undefined;
      if (h === undefined) return;
      // Cleared before the unlock so the next holder never shows our PID (only a message anyway).
      await ftruncateAsync(h, 0).catch(() => undefined);
      closeSync(h);
    },
  };
}

/** Who holds a lock, for messages: "process N" as written by the holder, or "another process". */
export async function lockHolder(lockPath: string): Promise<string> {
  const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
  return Number.isSafeInteger(pid) && pid > 0 ? `process ${pid}` : 'another process';
}

/**
 * Waits up to `timeoutMs` for the lock (polling with back-off: an OFD lock has no wait with a
 * timeout), then throws LockTimeoutError naming the holder.
 */
export async function acquireFileLock(lockPath: string, timeoutMs = 10_000): Promise<FileLock> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    const lock = await tryFileLock(lockPath);
    if (lock) return lock;
    if (Date.now() >= deadline) throw new LockTimeoutError(`${lockPath} is held by ${await lockHolder(lockPath)}`);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 25);
  }
}

export async function withFileLock<R>(lockPath: string, fn: () => Promise<R>, timeoutMs = 10_000): Promise<R> {
  const lock = await acquireFileLock(lockPath, timeoutMs);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
