// Files by path, for the code that owns a directory layout (src/ceremony) and for cli/: new files
// refuse to overwrite, secrets are created 0600, replacements are atomic (temp + fsync + rename +
// fsync of the directory), and every failure is one line naming the file.
import { randomBytes } from 'node:crypto';
import { access, chmod, constants, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ErrorKind } from '../ca/errors.js';

/** A file could not be read or written; `kind` maps to the CLI's exit code. */
export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(readonly kind: Extract<ErrorKind, 'io' | 'conflict' | 'not-found'>, message: string, readonly code = 'FILE_' + kind.toUpperCase().replace('-', '_')) {
    super(message);
  }
}

const WHY: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory' };

export async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new FileError('io', `cannot read ${what} ${path}: ${WHY[code] ?? String((err as Error).message)}`);
  }
}

export async function readText(path: string, what: string): Promise<string> {
  return (await readBytes(path, what)).toString('utf8');
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

/** fsync a directory so that a create or rename in it is itself durable (POSIX). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates a file that must not exist yet (O_EXCL), with `mode`, and fsyncs it. */
export async function writeNewFile(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new FileError('conflict', `${path} already exists; refusing to overwrite it`);
    throw err;
  }
  try {
    await fh.writeFile(content);
    await fh.chmod(mode); // umask may have narrowed or (for 0644) kept it; make it exact.
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The temporary name writeFileAtomic uses next to `path` (a crash may leave one behind). */
export const isTempName = (name: string): boolean => /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);

/**
 * Replaces `path` atomically: a crash leaves the old or the new content, never a mix. With
 * `exclusive`, refuses when `path` exists (link(2) instead of rename(2): no overwrite race).
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644, opts: { exclusive?: boolean } = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, mode);
    if (opts.exclusive) {
      const { link } = await import('node:fs/promises');
      await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw new FileError('conflict', `${path} already exists; refusing to overwrite it`);
        throw err;
      });
      await unlink(tmp);
    } else {
      await rename(tmp, path);
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(path));
}

/**
 * Checks, before anything is signed, that `path` can be written: its directory exists and is
 * writable, and `path` is not a directory (nor exists at all when `mustNotExist`).
 */
export async function checkWritableTarget(path: string, what: string, opts: { mustNotExist: boolean }): Promise<void> {
  const dir = dirname(path);
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new FileError('io', `cannot write ${what} ${path}: the directory ${dir} does not exist`);
  if (!st.isDirectory()) throw new FileError('io', `cannot write ${what} ${path}: ${dir} is not a directory`);
  if (!(await access(dir, constants.W_OK).then(() => true, () => false))) throw new FileError('io', `cannot write ${what} ${path}: permission denied on ${dir}`);
  const target = await stat(path).catch(() => undefined);
  if (target?.isDirectory()) throw new FileError('io', `cannot write ${what} ${path}: is a directory`);
  if (target && opts.mustNotExist) throw new FileError('conflict', `${path} already exists; refusing to overwrite it`);
}
