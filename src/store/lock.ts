// A cross-process advisory lock for state that several `nixca` processes may write (the CLI edits
// the inventory while `nixca serve` runs). The lock file is made by link(2)ing a temp file that
// already holds our PID: link is atomic and fails with EEXIST, so a lock file never exists
// without its holder's PID, even if the holder is killed at any instant. A lock whose holder is
// gone is taken over; an empty one (left by an older writer that created the file first) is
// taken over once it is older than EMPTY_LOCK_GRACE_MS.
import { randomBytes } from 'node:crypto';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
}

const EMPTY_LOCK_GRACE_MS = 2_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the lock at `lockPath` may be removed: its holder is gone, or it is empty and old. */
async function abandoned(lockPath: string): Promise<{ abandoned: boolean; holder: string }> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === undefined) return { abandoned: false, holder: '?' }; // vanished: just retry
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0) return { abandoned: !alive(pid), holder: String(pid) };
  const st = await stat(lockPath).catch(() => undefined);
  return { abandoned: st !== undefined && Date.now() - st.mtimeMs > EMPTY_LOCK_GRACE_MS, holder: 'an unknown process' };
}

async function tryAcquire(lockPath: string): Promise<boolean> {
  const tmp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, String(process.pid), { mode: 0o600 });
  try {
    await link(tmp, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export async function withFileLock<R>(lockPath: string, fn: () => Promise<R>, timeoutMs = 10_000): Promise<R> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tryAcquire(lockPath))) {
    const state = await abandoned(lockPath);
    if (state.abandoned) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new LockTimeoutError(`${lockPath} is held by process ${state.holder}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
