// The issuer's tamper-evident audit log: every issuance, revocation, EAB change, node change and
// signing-key transition, as a hash-chained, signed JSON-lines file (src/ca/chainlog.ts does the
// chaining and signing; this module stores it). Layout in the state directory:
//
//   audit/log.jsonl          one entry per line, newest last (0644-style data, but created 0600)
//   audit/signing-key.pem    the audit signing key: ECDSA P-256, PKCS#8, unencrypted, 0600
//   audit/signing-cert.pem   certificate(s) for that key issued by the intermediate (certify.ts)
//
// Why a dedicated key rather than the intermediate's: commands that append (`node add`, `key
// rotate`, `renew-now`, `cert revoke`) must work without the intermediate passphrase. The key is
// made on first append; `certifyAuditKey` (called where the intermediate is unlocked: `issuer
// install`, `serve` start) binds it to the issuer with a certificate, and `audit verify` checks
// the chain, every signature, and that certificate up to the root. Threat model: docs/operations.md.
//
// Concurrency: appends from several processes (serve + CLI) take one lock (src/store/lock.ts),
// read only the tail, append with one write() and fsync, so the chain never forks. A torn last
// line (a crash during an append) is reported by `verify` as such, not as tampering, and the next
// append truncates it and records what it removed in an `audit.repaired` entry.
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, fsync, ftruncate, mkdirSync, open as openCb, openSync, statSync, write } from 'node:fs';
import { access, open, readFile, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { appendEntry, entryHash, serializeEntry, verifyLog, type ChainEntry } from '../ca/chainlog.js';
import { LockTimeoutError, withFileLock } from '../store/lock.js';
import { auditInitDetails, auditPaths, checkEvent, parseEntryLine, splitTornTail, toRecord, type AuditEvent, type AuditRecord } from './entry.js';
import { AuditError } from './errors.js';
import { fsyncDir, loadOrCreateAuditKey } from './key.js';

// The vocabulary and the key have their own modules; callers keep importing them from here.
export * from './entry.js';
export { loadOrCreateAuditKey } from './key.js';

// What changes a file (writes, truncation, creation, rename) and what waits for the device (fsync)
// goes through the thread pool; what only looks or opens an existing file (stat, open, close,
// mkdir of an existing directory, the key read) is done synchronously: those system calls take a
// few microseconds, a thread-pool round trip several times that in CPU, and none of them waits for
// a journal commit. An append went from 24 thread-pool operations to 8.
const fsyncAsync = promisify(fsync);
const ftruncateAsync = promisify(ftruncate);
const openAsync = promisify(openCb);
const writeAsync = promisify(write);

/** Writes all of `text` at the descriptor's position (a short write is an error, nothing is acknowledged). */
async function writeText(fd: number, text: string): Promise<void> {
  const data = Buffer.from(text);
  const { bytesWritten } = await writeAsync(fd, data, 0, data.length, null);
  if (bytesWritten !== data.length) throw Object.assign(new Error(`short write: ${bytesWritten} of ${data.length} bytes`), { code: 'EIO' });
}

function statOrUndefined(file: string): ReturnType<typeof statSync> {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Reads the last complete line and any torn tail without reading the whole file. */
async function readTail(file: string): Promise<{ last: string | null; torn: Buffer | null; completeSize: number }> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!fh) return { last: null, torn: null, completeSize: 0 };
  try {
    const { size } = await fh.stat();
    if (size === 0) return { last: null, torn: null, completeSize: 0 };
    let chunk = Math.min(size, 64 * 1024);
    for (;;) {
      const buf = Buffer.alloc(chunk);
      await fh.read(buf, 0, chunk, size - chunk);
      // Position (in buf) just after the last newline, i.e. where a torn tail would start.
      const lastNl = buf.lastIndexOf(0x0a);
      if (lastNl < 0 && chunk < size) {
        chunk = Math.min(size, chunk * 4);
        continue;
      }
      const completeEnd = lastNl + 1; // 0 when the whole file is one torn line
      const torn = completeEnd < buf.length ? buf.subarray(completeEnd) : null;
      if (completeEnd === 0) return { last: null, torn, completeSize: 0 };
      const prevNl = buf.lastIndexOf(0x0a, lastNl - 1);
      if (prevNl < 0 && chunk < size) {
        chunk = Math.min(size, chunk * 4);
        continue;
      }
      return { last: buf.subarray(prevNl + 1, lastNl).toString('utf8'), torn, completeSize: size - chunk + completeEnd };
    }
  } finally {
    await fh.close();
  }
}

export interface AppendOptions {
  /** Clock for entries without their own time (tests). */
  now?: () => Date;
  lockTimeoutMs?: number;
}

/**
 * Appends events (in order) to the state directory's audit log and returns the new entries.
 * Durable when it resolves (written with one write() and fsync'd). Safe against concurrent
 * appenders in other processes. Never needs the intermediate passphrase.
 */
export async function appendAudit(stateDir: string, events: AuditEvent | readonly AuditEvent[], opts: AppendOptions = {}): Promise<ChainEntry[]> {
  // Appends from one process are queued here first: the file lock below polls, and a busy issuer
  // should not wait for its own other requests 25 ms at a time. Group commit: whatever queued up
  // while an append was running is written by the next one in a single write + fsync (entries stay
  // in call order), so concurrent issuances do not each wait for their own fsync.
  const list = Array.isArray(events) ? (events as readonly AuditEvent[]) : [events as AuditEvent];
  list.forEach(checkEvent); // a bad event fails its own caller only, never a shared batch
  const key = auditPaths(stateDir).log;
  return new Promise<ChainEntry[]>((resolve, reject) => {
    let q = pendingAppends.get(key);
    if (!q) pendingAppends.set(key, (q = { waiting: [], running: false }));
    q.waiting.push({ list, opts, resolve, reject });
    if (!q.running) void drainAppends(stateDir, key, q);
  });
}

interface PendingAppend {
  list: readonly AuditEvent[];
  opts: AppendOptions;
  resolve: (entries: ChainEntry[]) => void;
  reject: (err: unknown) => void;
}
const pendingAppends = new Map<string, { waiting: PendingAppend[]; running: boolean }>();

async function drainAppends(stateDir: string, key: string, q: { waiting: PendingAppend[]; running: boolean }): Promise<void> {
  q.running = true;
  try {
    while (q.waiting.length) {
      const batch = q.waiting.splice(0);
      try {
        const all = await appendLocked(stateDir, batch.flatMap((b) => b.list), batch[0]!.opts);
        // appendLocked may prepend audit.init / audit.repaired: they go to the first caller, as
        // they would have without batching; every caller gets its own entries.
        let i = 0;
        batch.forEach((b, k) => {
          const end = k === 0 ? all.length - batch.slice(1).reduce((n, x) => n + x.list.length, 0) : i + b.list.length;
          b.resolve(all.slice(i, end));
          i = end;
        });
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
  } finally {
    q.running = false;
    if (q.waiting.length === 0) pendingAppends.delete(key);
    else void drainAppends(stateDir, key, q);
  }
}

const lastAppended = new Map<string, { ino: number; size: number; keys: CryptoKeyPair; entry: ChainEntry }>();

/**
 * The newest complete entry, checked against our key (one signature): an append never continues a
 * damaged log or one that another key wrote (a replaced key file).
 */
async function checkNewest(last: string | null, keys: CryptoKeyPair, p: ReturnType<typeof auditPaths>): Promise<ChainEntry | null> {
  if (last === null) return null;
  const previous = parseEntryLine(last);
  if (!previous) throw new AuditError('AUDIT_DAMAGED', `the newest complete entry of ${p.log} is damaged; run nixca audit verify and restore the log before anything else is recorded`);
  const one = await verifyLog(last + '\n', keys.publicKey).catch(() => undefined);
  if (!one || one.problems.some((pr) => /signature/.test(pr.reason))) {
    throw new AuditError('AUDIT_KEY_MISMATCH', `${p.key} did not sign the newest entry of ${p.log}; the key was replaced, refusing to append`);
  }
  return previous;
}

const HEAD_ADVICE = 'nothing was appended; keep a copy of the audit directory, run nixca audit verify and compare with your anchored head (docs/operations.md "audit verify fails")';

/**
 * head.json names the newest entry an append wrote. A log that ends before that entry (entries
 * removed from its end at a line boundary) or holds another one at its seq was cut or rewritten,
 * and the next append would overwrite the only local evidence of it: refuse until an operator
 * looks. A head that lags (its write failed, or a power loss) is normal; a missing one is written
 * again by this append, as `audit verify` says.
 */
async function checkHead(stateDir: string, p: ReturnType<typeof auditPaths>, newest: ChainEntry | null): Promise<void> {
  let head: { seq: number; hash: string } | null;
  try {
    head = await readAuditHead(stateDir);
  } catch (err) {
    if (err instanceof AuditError) throw new AuditError('AUDIT_DAMAGED', `${err.message}; ${HEAD_ADVICE}`);
    throw err;
  }
  if (head === null) return;
  if (newest === null || head.seq > newest.seq) {
    throw new AuditError('AUDIT_DAMAGED', `${p.head} records entry ${head.seq} but the log ends ${newest ? `at entry ${newest.seq}` : 'before its first entry'}: entries were removed from its end; ${HEAD_ADVICE}`);
  }
  if (head.seq === newest.seq && head.hash !== entryHash(newest)) {
    throw new AuditError('AUDIT_DAMAGED', `entry ${head.seq} of ${p.log} is not the one ${p.head} records: the log was rewritten; ${HEAD_ADVICE}`);
  }
}

/**
 * Proves that an append would work now without writing an entry (/health): the lock is free
 * within the timeout, the key file loads and signed the newest entry, and the log and its
 * directory take writes. A full disk shows only when an append fails; the caller remembers that.
 */
export async function checkAuditAppendable(stateDir: string, lockTimeoutMs = 2_000): Promise<void> {
  const p = auditPaths(stateDir);
  try {
    await withFileLock(p.lock, async () => {
      const { keys } = await loadOrCreateAuditKey(stateDir);
      await checkHead(stateDir, p, await checkNewest((await readTail(p.log)).last, keys, p));
      await access(p.dir, fsConstants.W_OK);
      await access(p.log, fsConstants.W_OK).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }, lockTimeoutMs);
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new AuditError('AUDIT_LOCKED', `the audit log is locked by another nixca process: ${err.message}`);
    throw err;
  }
}

/** The head recorded by the last append, if any (null: no head file; verify reports that for a log with entries). */
export async function readAuditHead(stateDir: string): Promise<{ seq: number; hash: string } | null> {
  const text = await readFile(auditPaths(stateDir).head, 'utf8').catch(() => undefined);
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as { seq?: unknown; hash?: unknown };
    if (Number.isSafeInteger(v.seq) && typeof v.hash === 'string' && /^[0-9a-f]{64}$/.test(v.hash)) return { seq: v.seq as number, hash: v.hash };
  } catch {
    // fall through: reported by verify
  }
  throw new AuditError('AUDIT_DAMAGED', `${auditPaths(stateDir).head} is damaged (it records the newest entry of the log)`);
}

/**
 * Records the newest entry next to the log: temp file, fsync, rename, fsync of the directory, so
 * that after a crash the anchor is the old head or the new one, never empty or torn, and a head
 * that was reported written survives power loss (it is what notices entries cut off the end).
 */
async function writeHead(p: ReturnType<typeof auditPaths>, entry: ChainEntry): Promise<void> {
  const tmp = `${p.head}.${process.pid}.tmp`;
  const fd = await openAsync(tmp, 'w', 0o600);
  try {
    await writeText(fd, JSON.stringify({ seq: entry.seq, hash: entryHash(entry) }) + '\n');
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
  await rename(tmp, p.head);
  await fsyncDir(p.dir);
}

/** `list` was checked (checkEvent) by appendAudit, per caller. */
async function appendLocked(stateDir: string, list: readonly AuditEvent[], opts: AppendOptions): Promise<ChainEntry[]> {
  const now = opts.now ?? (() => new Date());
  const p = auditPaths(stateDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  return appendUnderLock(stateDir, list, now, p, opts.lockTimeoutMs);
}

async function appendUnderLock(stateDir: string, list: readonly AuditEvent[], now: () => Date, p: ReturnType<typeof auditPaths>, lockTimeoutMs: number | undefined): Promise<ChainEntry[]> {
  try {
    return await withFileLock(p.lock, async () => {
      const { keys } = await loadOrCreateAuditKey(stateDir);
      // The entry this process appended last, if the log is still exactly as it left it (same
      // inode and size): then its tail was already read and checked, and need not be again.
      const st = statOrUndefined(p.log);
      const known = lastAppended.get(p.log);
      const cached = known && st && known.keys === keys && st.ino === known.ino && st.size === known.size ? known.entry : undefined;
      const tail = cached ? { last: null, torn: null, completeSize: st!.size } : await readTail(p.log);
      let previous: ChainEntry | null = cached ?? (await checkNewest(tail.last, keys, p));
      // A log exactly as this process left it ends at the entry it recorded in head.json itself.
      if (!cached) await checkHead(stateDir, p, previous);
      const out: ChainEntry[] = [];
      const push = async (type: string, subject: string, node: string | null, details: Record<string, unknown>, time: Date) => {
        const entry = await appendEntry(previous, { event: type, data: { subject, node, details }, time }, keys.privateKey);
        out.push(entry);
        previous = entry;
      };
      if (previous === null) {
        await push('audit.init', 'audit', null, await auditInitDetails(keys.publicKey), now());
      }
      const creating = previous === null && !tail.torn;
      if (tail.torn) {
        // A crash tore the last append. The fragment is dropped below, but its bytes stay in the log.
        await push('audit.repaired', 'audit', null, {
          removedBytes: tail.torn.length,
          removedSha256: createHash('sha256').update(tail.torn).digest('hex'),
          fragment: tail.torn.subarray(0, 4096).toString('utf8'),
          afterSeq: (previous as ChainEntry | null)?.seq ?? null,
        }, now());
      }
      for (const e of list) await push(e.type, e.subject, e.node ?? null, e.details ?? {}, e.time ?? now());
      // Everything is signed before the file is touched: a failure above changes nothing on disk.
      // O_SYNC: the write returns once the entries and the file's metadata are on stable storage
      // (POSIX file integrity completion, as write + fsync), in one thread-pool operation.
      const fd = openSync(p.log, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_SYNC, 0o600);
      try {
        if (tail.torn) await ftruncateAsync(fd, tail.completeSize);
        await writeText(fd, out.map(serializeEntry).join(''));
        const after = fstatSync(fd);
        lastAppended.set(p.log, { ino: after.ino, size: after.size, keys, entry: out[out.length - 1]! });
      } finally {
        closeSync(fd);
      }
      // The entries are durable: a head that cannot be updated only lags (verify stays correct).
      await writeHead(p, out[out.length - 1]!).catch(() => undefined);
      // A new file is durable only once its directory entry is.
      if (creating) await fsyncDir(p.dir);
      return out;
    }, lockTimeoutMs);
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new AuditError('AUDIT_LOCKED', `the audit log is locked by another nixca process: ${err.message}`);
    throw err;
  }
}

/** The whole log, split into its complete lines and a torn tail (AUDIT_NO_LOG when there is none yet). */
export async function readLogText(stateDir: string): Promise<{ complete: string; torn: string }> {
  const p = auditPaths(stateDir);
  try {
    return splitTornTail(await readFile(p.log, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AuditError('AUDIT_NO_LOG', `no audit log at ${p.log} (nothing has been recorded yet)`);
    throw err;
  }
}

/** Everything in the log, parsed leniently (for `show`); damaged lines are skipped and counted. */
export async function readAudit(stateDir: string): Promise<{ records: AuditRecord[]; damagedLines: number; tornBytes: number }> {
  const { complete, torn } = await readLogText(stateDir);
  const records: AuditRecord[] = [];
  let damagedLines = 0;
  for (const line of complete.split('\n')) {
    if (!line) continue;
    const e = parseEntryLine(line);
    if (e) records.push(toRecord(e));
    else damagedLines++;
  }
  return { records, damagedLines, tornBytes: Buffer.byteLength(torn) };
}
