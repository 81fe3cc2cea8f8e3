// M-of-N custody of the root passphrase: Shamir's secret sharing (shamir-secret-sharing, audited;
// never hand-rolled) wrapped in self-describing share files. Each file names its root, its split
// and its custodian index and carries a SHA-256 checksum over all of that, so a damaged or foreign
// share is detected and NAMED instead of being combined into a wrong passphrase (the library does
// not verify what it reconstructs; its README says so).
import { createHash, randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { canonicalJson } from './chainlog.js';
import { CaError } from './errors.js';

export const SHARE_FORMAT = 'nixca-share/1';

/**
 * The secret that is split is the passphrase padded to a fixed size with random bytes, so shares do
 * not reveal the passphrase's length: [version=1][length: 2 bytes BE][UTF-8 passphrase][random pad].
 * Shamir over GF(2^8) is information-theoretic per byte: fewer than M shares say nothing about it.
 */
const SECRET_SIZE = 256;
const MAX_PASSPHRASE_BYTES = SECRET_SIZE - 3;

export interface ShareFile {
  format: typeof SHARE_FORMAT;
  /** What the shares open, for the custodian reading the file. */
  purpose: string;
  /** SHA-256 fingerprint (hex) of the root certificate whose key passphrase this is. */
  root: string;
  rootName: string;
  /** Random id of this split: shares of two different splits never combine. */
  split: string;
  /** 1-based custodian number. */
  index: number;
  total: number;
  threshold: number;
  /** base64 of the Shamir share (the library's last byte is its x coordinate). */
  share: string;
  /** SHA-256 (hex) of the canonical JSON of every other field. */
  check: string;
}

function checkOf(f: Omit<ShareFile, 'check'> & { check?: string }): string {
  const { check: _c, ...rest } = f;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export interface SplitOptions {
  shares: number;
  threshold: number;
  rootFingerprint: string;
  rootName: string;
  purpose?: string;
}

export function checkShareCounts(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 2 || shares < threshold || shares > 255) {
    throw new CaError('CA_SHARES_INSUFFICIENT', `need 2 ≤ threshold ≤ shares ≤ 255, got --shares ${shares} --threshold ${threshold}`);
  }
}

export async function splitPassphrase(passphrase: string, opts: SplitOptions): Promise<ShareFile[]> {
  checkShareCounts(opts.shares, opts.threshold);
  const bytes = Buffer.from(passphrase, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_PASSPHRASE_BYTES) {
    throw new CaError('CA_PASSPHRASE_WEAK', `a split passphrase must be 1–${MAX_PASSPHRASE_BYTES} bytes, got ${bytes.length}`);
  }
  const secret = new Uint8Array(SECRET_SIZE);
  secret.set(randomBytes(SECRET_SIZE));
  secret[0] = 1;
  secret[1] = bytes.length >> 8;
  secret[2] = bytes.length & 0xff;
  secret.set(bytes, 3);
  const parts = await split(secret, opts.shares, opts.threshold);
  secret.fill(0);
  const splitId = randomBytes(16).toString('hex');
  return parts.map((p, i) => {
    const f: Omit<ShareFile, 'check'> = {
      format: SHARE_FORMAT,
      purpose: opts.purpose ?? 'root key passphrase',
      root: opts.rootFingerprint,
      rootName: opts.rootName,
      split: splitId,
      index: i + 1,
      total: opts.shares,
      threshold: opts.threshold,
      share: Buffer.from(p).toString('base64'),
    };
    return { ...f, check: checkOf(f) };
  });
}

export function serializeShare(f: ShareFile): string {
  return JSON.stringify(f, null, 2) + '\n';
}

/** Parses one share file; `label` (usually its path) names it in every error. */
export function parseShare(text: string, label: string): ShareFile {
  let v: ShareFile;
  try {
    v = JSON.parse(text) as ShareFile;
  } catch {
    throw new CaError('CA_SHARE_INVALID', `share ${label} is damaged: not valid JSON`);
  }
  const ok =
    v && v.format === SHARE_FORMAT && typeof v.root === 'string' && typeof v.rootName === 'string' && typeof v.split === 'string' &&
    Number.isInteger(v.index) && Number.isInteger(v.total) && Number.isInteger(v.threshold) && typeof v.share === 'string' &&
    typeof v.check === 'string' && typeof v.purpose === 'string';
  if (!ok) throw new CaError('CA_SHARE_INVALID', `share ${label} is not a ${SHARE_FORMAT} share file (damaged or another format)`);
  if (checkOf(v) !== v.check) throw new CaError('CA_SHARE_INVALID', `share ${label} (custodian ${v.index}) is damaged: its checksum does not match its content`);
  return v;
}

export interface CombineExpectation {
  /** Fingerprint of the root the shares must belong to. */
  rootFingerprint: string;
  /** Checks recorded at split time (custodian index → ShareFile.check), when the ceremony dir has them. */
  recorded?: { split: string; checks: Record<string, string> };
}

/**
 * Reconstructs the passphrase from share files. Every problem names the share: damaged, of another
 * root, of another split, not the one recorded at split time, or a duplicate custodian. Fewer than
 * the threshold is CA_SHARES_INSUFFICIENT (nothing is combined).
 */
export async function combineShares(inputs: readonly { label: string; text: string }[], expect: CombineExpectation): Promise<string> {
  if (inputs.length === 0) throw new CaError('CA_SHARES_INSUFFICIENT', 'no shares given');
  const files = inputs.map((i) => ({ label: i.label, f: parseShare(i.text, i.label) }));
  const byIndex = new Map<number, string>();
  const first = files[0]!;
  for (const { label, f } of files) {
    if (f.root !== expect.rootFingerprint) {
      throw new CaError('CA_SHARE_INVALID', `share ${label} belongs to another root ("${f.rootName}", ${f.root.slice(0, 16)}…), not this one (${expect.rootFingerprint.slice(0, 16)}…)`);
    }
    if (expect.recorded) {
      if (f.split !== expect.recorded.split) throw new CaError('CA_SHARE_INVALID', `share ${label} (custodian ${f.index}) is from another split of this root's passphrase than the current one`);
      const want = expect.recorded.checks[String(f.index)];
      if (want !== f.check) throw new CaError('CA_SHARE_INVALID', `share ${label} (custodian ${f.index}) does not match the share recorded when the passphrase was split (altered or forged)`);
    }
    if (f.split !== first.f.split || f.threshold !== first.f.threshold || f.total !== first.f.total) {
      throw new CaError('CA_SHARE_INVALID', `share ${label} is from another split than share ${first.label}`);
    }
    const dup = byIndex.get(f.index);
    if (dup !== undefined) throw new CaError('CA_SHARE_INVALID', `share ${label} is custodian ${f.index} again (same as ${dup}); each custodian counts once`);
    byIndex.set(f.index, label);
  }
  const threshold = first.f.threshold;
  if (files.length < threshold) {
    throw new CaError('CA_SHARES_INSUFFICIENT', `${threshold} of ${first.f.total} shares are needed, got ${files.length}`);
  }
  const secret = await combine(files.map(({ f }) => new Uint8Array(Buffer.from(f.share, 'base64'))));
  const len = ((secret[1] ?? 0) << 8) | (secret[2] ?? 0);
  if (secret.length !== SECRET_SIZE || secret[0] !== 1 || len === 0 || len > MAX_PASSPHRASE_BYTES) {
    // Only reachable if the shares were consistent yet wrong (e.g. forged with matching checksums).
    throw new CaError('CA_SHARE_INVALID', 'the shares combine into something that is not a nixca passphrase (a share is wrong)');
  }
  const passphrase = Buffer.from(secret.subarray(3, 3 + len)).toString('utf8');
  secret.fill(0);
  return passphrase;
}

/** Random passphrase for a key that only the shares will open (nobody needs to type it). */
export function randomPassphrase(): string {
  return randomBytes(32).toString('base64url');
}
