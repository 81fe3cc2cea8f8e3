// `root init` (and the new root of `root rotate`): every input check first, then the passphrase,
// then the root, its encrypted key, the shares and the first transcript entry in memory, written
// into a temporary sibling directory that is renamed into place (a crash leaves no half root).
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { X509Certificate } from '@peculiar/x509';
import { appendEntry, entryHash, serializeEntry, type ChainEntry } from '../ca/chainlog.js';
import { nameConstraintsOf } from '../ca/constraints.js';
import { certFingerprint } from '../ca/inspect.js';
import { encryptPrivateKey, KEY_ALGORITHMS, MIN_PASSPHRASE_LENGTH, type KeyAlgorithm } from '../ca/keys.js';
import { commonNameDn, createRoot, permittedSubtrees } from '../ca/root.js';
import { checkShareCounts, randomPassphrase, serializeShare, splitPassphrase, type ShareFile } from '../ca/shares.js';
import { exists, writeNewFile } from '../store/files.js';
import { CeremonyError } from './errors.js';
import { foldLedger, type Ledger } from './ledger.js';
import { ensureEmptyDir, ledgerText, ROOT_FILES } from './root-dir.js';

export interface InitInput {
  /** Absolute path of the new root directory (must not exist or be empty). */
  dir: string;
  name: string;
  permitDns?: readonly string[];
  allowIp?: boolean;
  validityDays?: number;
  keyAlgorithm?: string;
  /** The new passphrase; absent with `shares`: a random one that only the shares open. */
  passphrase?: () => Promise<string>;
  shares?: number;
  threshold?: number;
  /** Absolute; default DIR/shares. */
  sharesDir?: string;
  now?: () => Date;
}

export interface InitResult {
  dir: string;
  subject: string;
  serial: string;
  sha256: string;
  notBefore: string;
  notAfter: string;
  permittedDns: string[];
  allowIp: boolean;
  keyAlgorithm: string;
  excludedIp: string[];
  shares: null | { total: number; threshold: number; files: string[] };
  transcriptHead: string;
}

/** A root checked and ready to be made: everything that can be wrong with the input was found. */
export interface RootPlan {
  input: InitInput;
  keyAlgorithm: KeyAlgorithm;
  permittedDns: string[];
  splitting: boolean;
  sharesDir: string | undefined;
}

export async function planRoot(input: InitInput): Promise<RootPlan> {
  const keyAlgorithm = input.keyAlgorithm ?? 'ECDSA-P384';
  if (!(KEY_ALGORITHMS as readonly string[]).includes(keyAlgorithm)) throw new CeremonyError('CEREMONY_USAGE', `--key-algorithm must be one of ${KEY_ALGORITHMS.join(', ')}`);
  const permittedDns = permittedSubtrees(input.permitDns ?? []);
  commonNameDn(input.name);
  const splitting = input.shares !== undefined || input.threshold !== undefined;
  if (splitting) {
    if (input.shares === undefined || input.threshold === undefined) throw new CeremonyError('CEREMONY_USAGE', '--shares and --threshold go together');
    checkShareCounts(input.shares, input.threshold);
  }
  if (!splitting && !input.passphrase) throw new CeremonyError('CEREMONY_USAGE', 'a new root needs a passphrase (or --shares and --threshold)');
  await ensureEmptyDir(input.dir);
  const sharesDir = splitting ? (input.sharesDir ?? join(input.dir, ROOT_FILES.shares)) : undefined;
  if (sharesDir && input.sharesDir) {
    for (let i = 1; i <= input.shares!; i++) {
      const f = join(sharesDir, `share-${i}-of-${input.shares}.json`);
      if (await exists(f)) throw new CeremonyError('CEREMONY_EXISTS', `${f} already exists; refusing to overwrite it`);
    }
  }
  return { input, keyAlgorithm: keyAlgorithm as KeyAlgorithm, permittedDns, splitting, sharesDir };
}

/** A new root in memory: certificate, keys, encrypted key, shares, its first transcript entry and ledger. */
export interface RootMaterial {
  plan: RootPlan;
  certificate: X509Certificate;
  keys: CryptoKeyPair;
  keyPem: string;
  shareFiles: ShareFile[];
  first: ChainEntry;
  result: InitResult;
}

export async function makeRoot(plan: RootPlan, extra?: Record<string, unknown>): Promise<RootMaterial> {
  const { input } = plan;
  const passphrase = input.passphrase ? await input.passphrase() : randomPassphrase();
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new CeremonyError('CEREMONY_INPUT', `the root passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  const now = (input.now ?? (() => new Date()))();
  const { certificate, keys } = await createRoot({ commonName: input.name, permittedDns: plan.permittedDns, allowIp: input.allowIp, validityDays: input.validityDays, keyAlgorithm: plan.keyAlgorithm, now });
  const keyPem = await encryptPrivateKey(keys.privateKey, passphrase);
  const sha256 = certFingerprint(certificate);
  const shareFiles = plan.splitting ? await splitPassphrase(passphrase, { shares: input.shares!, threshold: input.threshold!, rootFingerprint: sha256, rootName: input.name.trim() }) : [];
  const nc = nameConstraintsOf(certificate)!;
  const rootInfo = {
    subject: certificate.subject,
    sha256,
    serial: certificate.serialNumber.toLowerCase(),
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    permittedDns: plan.permittedDns,
    allowIp: Boolean(input.allowIp),
    keyAlgorithm: plan.keyAlgorithm,
  };
  const sharesInfo = plan.splitting
    ? { split: shareFiles[0]!.split, total: input.shares!, threshold: input.threshold!, checks: Object.fromEntries(shareFiles.map((s) => [String(s.index), s.check])) }
    : null;
  const first = await appendEntry(null, { event: 'root.init', time: now, data: { root: { ...rootInfo, excludedIp: nc.excludedIp }, shares: sharesInfo, ...extra } }, keys.privateKey);
  const sharePaths = shareFiles.map((s) => join(plan.sharesDir!, `share-${s.index}-of-${s.total}.json`));
  const result: InitResult = {
    dir: input.dir,
    ...rootInfo,
    excludedIp: nc.excludedIp,
    shares: sharesInfo ? { total: sharesInfo.total, threshold: sharesInfo.threshold, files: sharePaths } : null,
    transcriptHead: entryHash(first),
  };
  return { plan, certificate, keys, keyPem, shareFiles, first, result };
}

/**
 * Writes a made root into place. `later` are entries after root.init (rotate's root.cross-signed)
 * and `files` more certificate files (relative to DIR), written in the same rename.
 */
export async function writeRoot(m: RootMaterial, later: ChainEntry[] = [], files: { path: string; content: string }[] = []): Promise<void> {
  const { dir } = m.plan.input;
  const entries = [m.first, ...later];
  const ledger: Ledger = foldLedger(entries);
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(dirname(dir), `.${basename(dir)}.init-`));
  const inside = m.plan.sharesDir !== undefined && !m.plan.input.sharesDir;
  const written: string[] = [];
  try {
    await writeNewFile(join(tmp, ROOT_FILES.key), m.keyPem, 0o600);
    await writeNewFile(join(tmp, ROOT_FILES.cert), m.certificate.toString('pem') + '\n', 0o644);
    await writeNewFile(join(tmp, ROOT_FILES.ledger), ledgerText(ledger), 0o644);
    await writeNewFile(join(tmp, ROOT_FILES.transcript), entries.map(serializeEntry).join(''), 0o644);
    await mkdir(join(tmp, ROOT_FILES.intermediates), { mode: 0o755 });
    for (const f of files) await writeNewFile(join(tmp, f.path), f.content, 0o644);
    if (inside) {
      await mkdir(join(tmp, ROOT_FILES.shares), { mode: 0o700 });
      for (const s of m.shareFiles) await writeNewFile(join(tmp, ROOT_FILES.shares, `share-${s.index}-of-${s.total}.json`), serializeShare(s), 0o600);
    }
    // Shares written elsewhere go out BEFORE the root appears: a root whose (random) passphrase
    // never reached its custodians would be unusable.
    if (m.plan.sharesDir && !inside) {
      await mkdir(m.plan.sharesDir, { recursive: true, mode: 0o700 });
      for (const [i, s] of m.shareFiles.entries()) {
        await writeNewFile(m.result.shares!.files[i]!, serializeShare(s), 0o600);
        written.push(m.result.shares!.files[i]!);
      }
    }
    await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') throw new CeremonyError('CEREMONY_EXISTS', `${dir} appeared while the root was being created; refusing to overwrite it`);
      throw err;
    });
    written.length = 0;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    // Only on failure: shares of a root that was never created.
    for (const f of written) await rm(f, { force: true });
  }
}

/** `root init`. */
export async function initRoot(input: InitInput): Promise<InitResult> {
  const made = await makeRoot(await planRoot(input));
  await writeRoot(made);
  return made.result;
}
