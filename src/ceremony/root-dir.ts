// The root directory of the offline ceremony (docs/ceremony.md); the only code that knows its files:
//   DIR/root.pem             the root certificate (public)
//   DIR/root.key.pem         the root key, encrypted PKCS#8 (0600)
//   DIR/ledger.json          summary of the transcript: intermediates, revocations, CRL number, shares
//   DIR/transcript.jsonl     hash-chained, root-signed record of every step (src/ca/chainlog.ts)
//   DIR/intermediates/SERIAL.pem, DIR/cross/SERIAL.pem   copies of every certificate the root signed
//   DIR/shares/share-I-of-N.json   custodian shares (only with --shares; move them out, see docs)
//
// A step commits in one place: the atomic replacement of transcript.jsonl. Certificates the step
// made are written before it (a crash leaves a file no record names, which every command finds);
// the ledger after it (a crash leaves a ledger behind the transcript, which every command finds).
// Either way later commands refuse until `root transcript repair` records what happened.
import { access, constants, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { X509Certificate } from '@peculiar/x509';
import { appendEntry, serializeEntry, verifyLog, type ChainEntry } from '../ca/chainlog.js';
import { CaError } from '../ca/errors.js';
import { certFingerprint } from '../ca/inspect.js';
import { decryptPrivateKey, spkiOf } from '../ca/keys.js';
import { combineShares } from '../ca/shares.js';
import { ensureDir, exists, isTempName, readText, writeFileAtomic } from '../store/files.js';
import { LockTimeoutError, withFileLock } from '../store/lock.js';
import { readCert } from './certificate-file.js';
import { CeremonyError } from './errors.js';
import { foldLedger, LEDGER_FORMAT, ledgerFindings, type Ledger } from './ledger.js';

export type { Ledger, LedgerCross, LedgerIntermediate } from './ledger.js';

export const ROOT_FILES = {
  cert: 'root.pem',
  key: 'root.key.pem',
  ledger: 'ledger.json',
  transcript: 'transcript.jsonl',
  intermediates: 'intermediates',
  cross: 'cross',
  shares: 'shares',
  crossCert: 'cross-signed-by-previous-root.pem',
  lock: '.lock',
} as const;

/** How the root key is unlocked: asked for (file, credential, prompt) or combined from custodian shares. */
export type SecretSource = { passphrase: () => Promise<string> } | { shares: readonly { label: string; text: string }[] };

/** Points of a commit where tests simulate a crash (the hook throws; nothing after it runs). */
export type CommitPoint = 'files' | 'transcript' | 'ledger' | 'out';
export type FaultHook = (point: CommitPoint) => void;

export interface RootDir {
  dir: string;
  certificate: X509Certificate;
  ledger: Ledger;
  transcript: string;
  entries: ChainEntry[];
  /** Where the directory disagrees with its transcript; empty unless opened for repair. */
  findings: string[];
}

export const ledgerText = (ledger: Ledger) => JSON.stringify(ledger, null, 2) + '\n';

/** A directory that does not exist or is empty (root init and rotate create roots only there). */
export async function ensureEmptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new CeremonyError('CEREMONY_EXISTS', `${dir} exists and is not a directory; refusing to create a root there`);
    throw err;
  }
  if (entries.length > 0) {
    const hasRoot = entries.includes(ROOT_FILES.cert) || entries.includes(ROOT_FILES.key);
    throw new CeremonyError('CEREMONY_EXISTS', `${dir} ${hasRoot ? 'already holds a root' : 'is not empty'}; refusing to overwrite it (choose a new directory)`);
  }
}

/** The ledger of DIR, refused (CEREMONY_DAMAGED) unless it is a nixca root ledger of this root. */
export async function readLedger(dir: string, certificate: X509Certificate): Promise<Ledger> {
  const path = join(dir, ROOT_FILES.ledger);
  const text = await readText(path, 'ledger');
  let ledger: Ledger;
  try {
    ledger = JSON.parse(text) as Ledger;
  } catch {
    throw new CeremonyError('CEREMONY_DAMAGED', `${path} is damaged (not JSON)`);
  }
  if (ledger?.format !== LEDGER_FORMAT) throw new CeremonyError('CEREMONY_DAMAGED', `${path} is not a nixca root ledger`);
  if (ledger.root?.sha256 !== certFingerprint(certificate)) throw new CeremonyError('CEREMONY_DAMAGED', `${path} belongs to another root than ${ROOT_FILES.cert} (fingerprints differ)`);
  return { ...ledger, crossCertificates: ledger.crossCertificates ?? [] };
}

/** Where DIR disagrees with its (verified) transcript: the ledger, and the certificate copies against both. */
export async function findingsFor(dir: string, ledger: Ledger, entries: readonly ChainEntry[]): Promise<string[]> {
  const expected = foldLedger(entries);
  return [...ledgerFindings(ledger, expected, entries), ...(await fileFindings(dir, ledger, expected))];
}

/** Certificate files in DIR/intermediates and DIR/cross that no record names, and records whose file is missing. */
async function fileFindings(dir: string, ledger: Ledger, expected: Ledger): Promise<string[]> {
  const found: string[] = [];
  const groups = [
    [ROOT_FILES.intermediates, [...ledger.intermediates, ...expected.intermediates]],
    [ROOT_FILES.cross, [...ledger.crossCertificates, ...expected.crossCertificates]],
  ] as const;
  for (const [sub, records] of groups) {
    const names = new Set(records.map((r) => `${r.serial}.pem`));
    const present = await readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const name of present) if (!names.has(name)) found.push(`${sub}/${name} is ${isTempName(name) ? 'a certificate write that never finished' : 'a certificate file'} that no record names`);
    for (const r of sub === ROOT_FILES.intermediates ? expected.intermediates : expected.crossCertificates) {
      if (!present.includes(`${r.serial}.pem`)) found.push(`${sub}/${r.serial}.pem, recorded in the transcript, is missing`);
    }
  }
  return found;
}

/**
 * Reads DIR (no secrets) and checks it: the transcript's chain and signatures, the ledger against
 * the transcript, and the certificate copies against both. Any disagreement is refused (nothing is
 * changed) unless `forRepair`, which returns it in `findings`.
 */
export async function openRootDir(dir: string, opts: { forRepair?: boolean } = {}): Promise<RootDir> {
  if (!(await exists(join(dir, ROOT_FILES.cert))) || !(await exists(join(dir, ROOT_FILES.ledger)))) {
    throw new CeremonyError('CEREMONY_NOT_ROOT_DIR', `${dir} is not a root directory (no ${ROOT_FILES.cert} / ${ROOT_FILES.ledger}); create one with "nixca root init"`);
  }
  const certificate = await readCert(join(dir, ROOT_FILES.cert), 'root certificate');
  // The ledger is a summary of the transcript: a damaged one is a finding (repair rebuilds it).
  const damaged = await readLedger(dir, certificate).catch((err: unknown) => {
    if (err instanceof CeremonyError && err.code === 'CEREMONY_DAMAGED') return err;
    throw err;
  });
  const transcript = await readText(join(dir, ROOT_FILES.transcript), 'transcript');
  const v = await verifyLog(transcript, await certificate.publicKey.export());
  const first = v.entries[0];
  if (v.valid && (first?.event !== 'root.init' || (first.data as { root?: { sha256?: string } }).root?.sha256 !== certFingerprint(certificate))) {
    v.problems.push({ line: 1, reason: 'the first entry is not the creation of this root certificate' });
  }
  if (v.problems.length > 0) {
    const p = v.problems[0]!;
    throw new CaError('CA_TRANSCRIPT_INVALID', `refusing to use ${join(dir, ROOT_FILES.transcript)}: line ${p.line}: ${p.reason} (restore it from a backup; "nixca root transcript verify" lists every problem)`);
  }
  const ledger = damaged instanceof CeremonyError ? foldLedger(v.entries) : damaged;
  const findings = await findingsFor(dir, ledger, v.entries);
  if (damaged instanceof CeremonyError) findings.unshift(`${damaged.message} (repair rebuilds it from the transcript)`);
  if (findings.length > 0 && !opts.forRepair) {
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
    throw new CeremonyError('CEREMONY_INTERRUPTED', `${dir}: ${findings[0]}${more}. A step was interrupted or the directory was changed outside nixca; nothing was done. Record what happened with "nixca root transcript repair --dir ${dir}"`);
  }
  return { dir, certificate, ledger, transcript, entries: v.entries, findings };
}

/** The root directory and its certificate folders must be writable before the root key is used. */
export async function checkRootWritable(root: RootDir): Promise<void> {
  for (const d of [root.dir, join(root.dir, ROOT_FILES.intermediates), join(root.dir, ROOT_FILES.cross)]) {
    if (!(await exists(d)) && d !== root.dir) continue;
    if (!(await access(d, constants.W_OK).then(() => true, () => false))) throw new CeremonyError('CEREMONY_INPUT', `${d} is not writable; nothing was signed`);
  }
}

/**
 * One ceremony command at a time per root directory (a second one would fork the transcript).
 * No lock file in a directory that is not a root (openRootDir reports that clearly).
 */
export async function withRootLock<R>(dir: string, fn: () => Promise<R>): Promise<R> {
  if (!(await exists(join(dir, ROOT_FILES.ledger)))) return fn();
  try {
    return await withFileLock(join(dir, ROOT_FILES.lock), fn, 2_000);
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new CeremonyError('CEREMONY_BUSY', `another nixca command is working on ${dir} (${join(dir, ROOT_FILES.lock)}); wait for it to finish`);
    throw err;
  }
}

/** Decrypts the root key and checks that it is the key of root.pem. Call only once every input check has passed. */
export async function unlockRoot(root: Pick<RootDir, 'dir' | 'certificate' | 'ledger'>, source: SecretSource): Promise<CryptoKey> {
  const pem = await readText(join(root.dir, ROOT_FILES.key), 'root key');
  const fromShares = 'shares' in source;
  const passphrase = fromShares
    ? await combineShares(source.shares, {
        rootFingerprint: root.ledger.root.sha256,
        recorded: root.ledger.shares ? { split: root.ledger.shares.split, checks: root.ledger.shares.checks } : undefined,
      })
    : await source.passphrase();
  let keys: CryptoKeyPair;
  try {
    keys = await decryptPrivateKey(pem, passphrase);
  } catch (err) {
    if (fromShares && err instanceof CaError && err.code === 'CA_PASSPHRASE_WRONG') {
      throw new CaError('CA_SHARE_INVALID', 'the shares combine into a passphrase that does not open the root key (a share is wrong)');
    }
    throw err;
  }
  if (!Buffer.from(root.certificate.publicKey.rawData).equals(await spkiOf(keys.publicKey))) {
    throw new CaError('CA_KEY_MISMATCH', `${join(root.dir, ROOT_FILES.key)} is not the key of ${ROOT_FILES.cert}`);
  }
  return keys.privateKey;
}

export interface Step {
  event: string;
  data: Record<string, unknown>;
  time: Date;
  /** Certificates the step made, relative to DIR (new files; written before the commit point). */
  files?: { path: string; content: string }[];
  /** Runs after `files` and before the commit point (rotate creates the new root there). */
  beforeCommit?: () => Promise<void>;
}

/**
 * Records one step: its certificate copies, then the transcript (the commit point), then the
 * ledger folded from it. Returns the new ledger.
 */
export async function commitStep(root: RootDir, privateKey: CryptoKey, step: Step, fault?: FaultHook): Promise<{ ledger: Ledger; entry: ChainEntry }> {
  const entry = await appendEntry(root.entries.at(-1)!, { event: step.event, data: step.data, time: step.time }, privateKey);
  const entries = [...root.entries, entry];
  const ledger = foldLedger(entries);
  fault?.('files');
  for (const f of step.files ?? []) {
    await ensureDir(join(root.dir, f.path, '..'), 0o755);
    await writeFileAtomic(join(root.dir, f.path), f.content, 0o644, { exclusive: true });
  }
  await step.beforeCommit?.();
  fault?.('transcript');
  await writeFileAtomic(join(root.dir, ROOT_FILES.transcript), root.transcript + serializeEntry(entry), 0o644);
  fault?.('ledger');
  await writeFileAtomic(join(root.dir, ROOT_FILES.ledger), ledgerText(ledger), 0o644);
  Object.assign(root, { ledger, entries, transcript: root.transcript + serializeEntry(entry) });
  return { ledger, entry };
}
