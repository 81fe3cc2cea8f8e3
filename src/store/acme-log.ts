// Append-only JSON-lines logs with group commit: every line is durable (fdatasync) before its
// promise resolves; concurrent appends share one write + one fdatasync. A crash can only tear the
// last line (appends are sequential); readers ignore and truncate a torn tail, never rewrite history.
import { createReadStream } from 'node:fs';
import { open, rename, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
  readonly kind = 'io';
}

interface Pending {
  data: string;
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
}

/** fsync the directory so a create or rename is itself durable (POSIX). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class AppendLog {
  #fh: FileHandle;
  #size: number;
  #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  #jobs: Array<{ run: () => Promise<void>; resolve: () => void; reject: (err: unknown) => void }> = [];

  private constructor(readonly file: string, fh: FileHandle, size: number) {
    this.#fh = fh;
    this.#size = size;
  }

  static async open(file: string, size: number): Promise<AppendLog> {
    const fh = await open(file, 'a', 0o600);
    return new AppendLog(file, fh, size);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends one line (no newline inside); resolves with its byte offset once durable. */
  append(line: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ data: line + '\n', resolve, reject });
      this.#kick();
    });
  }

  /** Replaces the whole file with `lines` (compaction): temp file, fsync, rename, fsync dir. */
  rewrite(lines: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#jobs.push({ resolve, reject, run: async () => {
        const tmp = `${this.file}.compact`;
        const out = await open(tmp, 'w', 0o600);
        try {
          const data = lines.length ? lines.join('\n') + '\n' : '';
          await out.writeFile(data);
          await out.sync();
        } finally {
          await out.close();
        }
        await rename(tmp, this.file);
        await syncDir(dirname(this.file));
        await this.#fh.close();
        this.#fh = await open(this.file, 'a', 0o600);
        this.#size = Buffer.byteLength(lines.length ? lines.join('\n') + '\n' : '');
      } });
      this.#kick();
    });
  }

  async close(): Promise<void> {
    while (this.#running) await this.#running;
    await this.#fh.close();
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#queue.length || this.#jobs.length) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length || this.#jobs.length) {
      if (this.#queue.length) {
        const batch = this.#queue;
        this.#queue = [];
        const data = batch.map((p) => p.data).join('');
        const start = this.#size;
        try {
          await this.#fh.write(data);
          await this.#fh.datasync();
          this.#size += Buffer.byteLength(data);
          let off = start;
          for (const p of batch) {
            p.resolve(off);
            off += Buffer.byteLength(p.data);
          }
        } catch (err) {
          // A failed or partial write (ENOSPC, EIO) must not leave bytes that later appends would
          // bury in the middle of the log: cut back to the last acknowledged byte.
          await this.#fh.truncate(start).catch(() => undefined);
          for (const p of batch) p.reject(err);
        }
        continue;
      }
      const job = this.#jobs.shift()!;
      await job.run().then(job.resolve, job.reject);
    }
  }
}

/**
 * Streams a JSON-lines file: calls `onLine(value, offset, byteLength)` for each line. A torn last
 * line (a crash mid-append) is dropped and the file truncated to the last complete line; a bad line
 * anywhere else is corruption. Returns the size of the good prefix.
 */
export async function readJsonLines(file: string, onLine: (value: unknown, offset: number, length: number) => void, opts: { repair?: boolean; end?: number } = {}): Promise<number> {
  let offset = 0;
  let bad: { offset: number; line: number } | undefined;
  let lineNo = 0;
  if (opts.end === 0) return 0;
  const stream = createReadStream(file, opts.end === undefined ? {} : { end: opts.end - 1 });
  const exists = await new Promise<boolean>((resolve, reject) => {
    stream.once('open', () => resolve(true));
    stream.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(false) : reject(err)));
  });
  if (!exists) return 0;
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  // Each line is handed on only once the next one starts: the last line is known complete only if
  // the file ends with its newline (a line without one was never acknowledged, even if it parses).
  let held: { value: unknown; offset: number; len: number } | undefined;
  for await (const line of rl) {
    lineNo++;
    const len = Buffer.byteLength(line) + 1;
    if (bad) throw new StoreCorruptError(`${file}: line ${bad.line} is damaged but later lines are intact (not a torn tail); refusing to guess`);
    if (held) onLine(held.value, held.offset, held.len);
    held = undefined;
    if (line.length === 0) {
      offset += len;
      continue;
    }
    try {
      held = { value: JSON.parse(line), offset, len };
    } catch {
      bad = { offset, line: lineNo };
      continue;
    }
    offset += len;
  }
  const fh = await open(file, 'r');
  const size = Math.min(await fh.stat().then((s) => s.size).finally(() => fh.close()), opts.end ?? Infinity);
  let good = bad ? bad.offset : offset;
  if (held) {
    if (held.offset + held.len <= size) onLine(held.value, held.offset, held.len);
    else good = held.offset;
  }
  good = Math.min(good, size);
  if (good < size && opts.repair !== false && opts.end === undefined) await truncate(file, good);
  return good;
}
