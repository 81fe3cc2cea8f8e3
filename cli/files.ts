// File helpers for cli/ (the only layer that touches files by path): new files refuse to
// overwrite, secrets are created 0600, and replacements are written atomically (temp + fsync + rename).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError } from './errors.js';

export async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message);
    throw new CliError('io', `cannot read ${what} ${path}: ${why}`);
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

/** Creates a file that must not exist yet (O_EXCL), with `mode`, and fsyncs it. */
export async function writeNewFile(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError('conflict', `${path} already exists; refusing to overwrite it`);
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

/** Replaces `path` atomically: a crash leaves the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
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
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
