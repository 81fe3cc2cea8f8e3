// A hash-chained, signed append-only log (JSON lines). Generic: the root ceremony transcript signs
// with the root key, the issuer's audit log with the intermediate key. Each entry commits to the
// previous one (`prev` = SHA-256 of its canonical bytes) and is signed over its own canonical bytes,
// so an edited, removed, inserted or reordered entry breaks either a signature or the chain.
// Truncation of the newest entries is only visible against a head recorded elsewhere (`head`).
import { createHash, KeyObject, sign } from 'node:crypto';
import { CaError } from './errors.js';
import { signingAlgorithm } from './keys.js';
import { crypto } from './x509.js';

/** The `prev` of the first entry. */
export const GENESIS = '0'.repeat(64);

export interface ChainEntry {
  /** 0-based position; makes a removal or reordering name the place where it happened. */
  seq: number;
  /** ISO 8601 UTC. */
  time: string;
  /** What happened, e.g. "root.init". */
  event: string;
  /** Facts of the event (fingerprints, serials, names); never secrets. */
  data: Record<string, unknown>;
  /** SHA-256 (hex) of the previous entry's canonical bytes, or GENESIS. */
  prev: string;
  /** base64url signature over this entry's canonical bytes (WebCrypto format: raw r||s for ECDSA). */
  sig: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Deterministic JSON (keys sorted, no whitespace), in the spirit of RFC 8785. Our entries hold only
 * strings, integers, booleans, null, arrays and objects, for which this equals JCS output.
 */
export function canonicalJson(value: unknown): string {
  const walk = (v: unknown): Json => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new CaError('CA_TRANSCRIPT_INVALID', 'non-finite number in a log entry');
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object') {
      const out: { [k: string]: Json } = {};
      for (const k of Object.keys(v as object).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) out[k] = walk(x);
      }
      return out;
    }
    throw new CaError('CA_TRANSCRIPT_INVALID', `cannot put a ${typeof v} in a log entry`);
  };
  return JSON.stringify(walk(value));
}

/** The bytes that are signed and that the next entry's `prev` hashes: the entry without `sig`. */
export function entryBytes(entry: Omit<ChainEntry, 'sig'> & { sig?: string }): Uint8Array<ArrayBuffer> {
  const { sig: _sig, ...unsigned } = entry;
  return new TextEncoder().encode(canonicalJson(unsigned));
}

export function entryHash(entry: Omit<ChainEntry, 'sig'> & { sig?: string }): string {
  return createHash('sha256').update(entryBytes(entry)).digest('hex');
}

/**
 * The WebCrypto signature (signingAlgorithm's parameters: ECDSA as raw r||s, Ed25519,
 * RSASSA-PKCS1-v1_5 with the key's hash) made synchronously by node:crypto with the same key:
 * WebCrypto's sign is a thread-pool job (measured 0.06-0.09 against 0.03 CPU-ms for a P-256
 * signature), and the issuer signs one audit entry per certificate. test/ca/chainlog.test.ts
 * checks the result against WebCrypto's verify, and byte for byte where signatures are deterministic.
 */
export function signBytes(key: CryptoKey, data: Uint8Array): Buffer {
  if (key.type !== 'private' || !key.usages.includes('sign')) throw new CaError('CA_KEY_UNSUPPORTED', 'the key cannot sign (WebCrypto usages)');
  const alg = signingAlgorithm(key) as Algorithm & { hash?: string };
  const ko = KeyObject.from(key);
  switch (alg.name) {
    case 'ECDSA':
      return sign(alg.hash!.replace('-', '').toLowerCase(), data, { key: ko, dsaEncoding: 'ieee-p1363' });
    case 'Ed25519':
      return sign(null, data, ko);
    default: {
      // RSASSA-PKCS1-v1_5 signs with the hash the key was imported for (WebCrypto §20.7).
      const hash = (key.algorithm as RsaHashedKeyAlgorithm).hash.name;
      return sign(hash.replace('-', '').toLowerCase(), data, ko);
    }
  }
}

/**
 * Builds and signs the entry that follows `previous` (null for the first; or only its seq and hash,
 * when the caller keeps those rather than the entry). The caller stores it.
 */
export async function appendEntry(
  previous: ChainEntry | { seq: number; hash: string } | null,
  event: { event: string; data: Record<string, unknown>; time: Date },
  signingKey: CryptoKey,
): Promise<ChainEntry> {
  const unsigned = {
    seq: previous ? previous.seq + 1 : 0,
    time: event.time.toISOString(),
    event: event.event,
    data: JSON.parse(canonicalJson(event.data)) as Record<string, unknown>,
    prev: previous ? ('sig' in previous ? entryHash(previous) : previous.hash) : GENESIS,
  };
  return { ...unsigned, sig: signBytes(signingKey, entryBytes(unsigned)).toString('base64url') };
}

/** One entry per line, canonical form, newline-terminated. */
export function serializeEntry(entry: ChainEntry): string {
  return canonicalJson(entry) + '\n';
}

export interface ChainProblem {
  /** 1-based line number in the file. */
  line: number;
  reason: string;
}

export interface ChainVerification {
  valid: boolean;
  count: number;
  /** Hash of the last entry: record it elsewhere to detect truncation later. */
  head: string;
  problems: ChainProblem[];
  entries: ChainEntry[];
}

/** The shape of an entry (src/audit/log.ts reads single lines with it too); says nothing of its signature. */
export function isChainEntry(v: unknown): v is ChainEntry {
  const e = v as ChainEntry;
  return (
    typeof e === 'object' && e !== null && Number.isInteger(e.seq) && typeof e.time === 'string' && typeof e.event === 'string' &&
    typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) && typeof e.prev === 'string' && typeof e.sig === 'string'
  );
}

/** Parses JSON lines; a line that is not an entry is reported, not skipped silently. */
export function parseLog(text: string): { entries: (ChainEntry | null)[]; problems: ChainProblem[] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const problems: ChainProblem[] = [];
  const entries = lines.map((l, i) => {
    try {
      const v: unknown = JSON.parse(l);
      if (isChainEntry(v)) return v;
      problems.push({ line: i + 1, reason: 'not a log entry (missing or mistyped fields)' });
    } catch {
      problems.push({ line: i + 1, reason: 'not JSON (damaged line)' });
    }
    return null;
  });
  return { entries, problems };
}

/**
 * Checks every signature with `publicKey` and every link. Reports each problem with its line:
 * an edited entry fails its signature (and the next entry's `prev`); a removed or reordered one
 * breaks `seq` and `prev`. An empty log is invalid (a log always starts with its creation event).
 */
export async function verifyLog(text: string, publicKey: CryptoKey | ((entry: ChainEntry, index: number) => CryptoKey | undefined)): Promise<ChainVerification> {
  const { entries, problems } = parseLog(text);
  // One key for the whole log, or (a chain several signers append to) the key of each entry.
  const keyOf = typeof publicKey === 'function' ? publicKey : () => publicKey;
  let prevHash = GENESIS;
  let expectSeq = 0;
  for (const [i, e] of entries.entries()) {
    const line = i + 1;
    if (!e) {
      prevHash = '';
      expectSeq++;
      continue;
    }
    const key = keyOf(e, i);
    let sigOk = false;
    try {
      if (key) sigOk = await crypto.subtle.verify(signingAlgorithm(key), key, new Uint8Array(Buffer.from(e.sig, 'base64url')), entryBytes(e));
    } catch {
      sigOk = false;
    }
    if (!sigOk) problems.push({ line, reason: `entry ${e.seq} (${e.event}): signature does not verify (edited, or signed by another key)` });
    if (e.seq !== expectSeq) problems.push({ line, reason: `entry has seq ${e.seq}, expected ${expectSeq} (an entry was removed, inserted or reordered)` });
    if (prevHash && e.prev !== prevHash) {
      problems.push({ line, reason: `entry ${e.seq} (${e.event}): prev does not match the hash of the entry before it (an entry before it was edited, removed or reordered)` });
    }
    prevHash = entryHash(e);
    expectSeq = e.seq + 1;
  }
  if (entries.length === 0) problems.push({ line: 0, reason: 'the log is empty' });
  problems.sort((a, b) => a.line - b.line);
  const good = entries.filter((e): e is ChainEntry => e !== null);
  const last = good.at(-1);
  return { valid: problems.length === 0, count: entries.length, head: last ? entryHash(last) : GENESIS, problems, entries: good };
}

/** The last entry of a log that is about to be appended to, after checking the whole chain. */
export async function lastEntryForAppend(text: string, publicKey: CryptoKey): Promise<ChainEntry | null> {
  if (!text.trim()) return null;
  const v = await verifyLog(text, publicKey);
  if (!v.valid) {
    const p = v.problems[0]!;
    throw new CaError('CA_TRANSCRIPT_INVALID', `refusing to append to a broken log: line ${p.line}: ${p.reason}`);
  }
  return v.entries.at(-1) ?? null;
}
