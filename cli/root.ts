// `nixca root …`: the offline root ceremony (docs/ceremony.md). Runs on an air-gapped machine
// against a root directory:
//   DIR/root.pem             the root certificate (public)
//   DIR/root.key.pem         the root key, encrypted PKCS#8 (0600)
//   DIR/ledger.json          issued intermediates, revocations, CRL number, share checks (no secrets)
//   DIR/transcript.jsonl     hash-chained, root-signed record of every step (src/ca/chainlog.ts)
//   DIR/intermediates/SERIAL.pem, DIR/cross/SERIAL.pem   copies of every certificate the root signed
//   DIR/shares/share-I-of-N.json   custodian shares (only with --shares; move them out, see docs)
import type { Command } from 'commander';
import { collect, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { parseDuration, parseWholeDuration } from '../src/config/duration.js';
import { emit, type Io } from './io.js';
import type { X509Certificate } from '@peculiar/x509';

import { NEW_ROOT_PASSPHRASE_CREDENTIAL, ROOT_PASSPHRASE_CREDENTIAL } from './secrets.js';

export const ROOT_FILES = {
  cert: 'root.pem',
  key: 'root.key.pem',
  ledger: 'ledger.json',
  transcript: 'transcript.jsonl',
  intermediates: 'intermediates',
  cross: 'cross',
  shares: 'shares',
  crossCert: 'cross-signed-by-previous-root.pem',
} as const;


/** A --validity: the one duration grammar (src/config/duration.ts), in whole days (certificate lifetimes). */
const parseDays = (flag: string) => (v: string) => parseWholeDuration(flag, v, 'd');

function parseCount(flag: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new CliError('usage', `${flag} must be a whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

// ---------------------------------------------------------------------------------------------
// The ledger: what the root has done, kept next to it (JSON, replaced atomically).

export interface LedgerIntermediate {
  serial: string;
  subject: string;
  sha256: string;
  spkiSha256: string;
  notBefore: string;
  notAfter: string;
  permittedDns: string[];
  signedAt: string;
  revoked: null | { at: string; reason: string };
}

export interface Ledger {
  format: 'nixca-root-ledger/1';
  root: { subject: string; sha256: string; serial: string; notBefore: string; notAfter: string; permittedDns: string[]; allowIp: boolean; keyAlgorithm: string };
  /** Present when the passphrase was split: the split id and each custodian's share checksum. */
  shares: null | { split: string; total: number; threshold: number; checks: Record<string, string> };
  /** The last CRL number issued (RFC 5280 §5.2.3: strictly increasing). */
  crlNumber: number;
  intermediates: LedgerIntermediate[];
  crossCertificates: { serial: string; subject: string; sha256: string; notAfter: string; signedAt: string }[];
  /** SHA-256 of the latest transcript entry (a second place to notice truncation). */
  transcriptHead: string;
}

// ---------------------------------------------------------------------------------------------
// Shared steps.

interface UnlockFlags {
  passphraseFile?: string;
  share?: string[];
}

interface OpenRoot {
  dir: string;
  certificate: X509Certificate;
  ledger: Ledger;
  transcript: string;
}

async function ensureEmptyDir(dir: string): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new CliError('conflict', `${dir} exists and is not a directory; refusing to create a root there`);
    throw err;
  }
  if (entries.length > 0) {
    const hasRoot = entries.includes(ROOT_FILES.cert) || entries.includes(ROOT_FILES.key);
    throw new CliError('conflict', `${dir} ${hasRoot ? 'already holds a root' : 'is not empty'}; refusing to overwrite it (choose a new directory)`);
  }
}

/** Reads DIR's root certificate, ledger and transcript (no secrets). */
async function openRootDir(dir: string): Promise<OpenRoot> {
  const { join } = await import('node:path');
  const { exists, readText } = await import('./files.js');
  const { readCert } = await import('../src/ceremony/certificate-file.js');
  if (!(await exists(join(dir, ROOT_FILES.cert))) || !(await exists(join(dir, ROOT_FILES.ledger)))) {
    throw new CliError('not-found', `${dir} is not a root directory (no ${ROOT_FILES.cert} / ${ROOT_FILES.ledger}); create one with "nixca root init"`);
  }
  const certificate = await readCert(join(dir, ROOT_FILES.cert), 'root certificate');
  let ledger: Ledger;
  try {
    ledger = JSON.parse(await readText(join(dir, ROOT_FILES.ledger), 'ledger')) as Ledger;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('input', `${join(dir, ROOT_FILES.ledger)} is damaged (not JSON)`);
  }
  if (ledger.format !== 'nixca-root-ledger/1') throw new CliError('input', `${join(dir, ROOT_FILES.ledger)} is not a nixca root ledger`);
  const { certFingerprint } = await import('../src/ca/inspect.js');
  if (ledger.root.sha256 !== certFingerprint(certificate)) {
    throw new CliError('input', `${join(dir, ROOT_FILES.ledger)} belongs to another root than ${ROOT_FILES.cert} (fingerprints differ)`);
  }
  const transcript = await readText(join(dir, ROOT_FILES.transcript), 'transcript');
  return { dir, certificate, ledger, transcript };
}

/** The root passphrase from --share files (Shamir) or the usual sources (file, credential, prompt). */
async function rootPassphrase(io: Io, root: OpenRoot, flags: UnlockFlags): Promise<{ passphrase: string; fromShares: boolean }> {
  if (flags.share?.length) {
    if (flags.passphraseFile) throw new CliError('usage', 'give either --passphrase-file or --share, not both');
    const { readText } = await import('./files.js');
    const { combineShares } = await import('../src/ca/shares.js');
    const inputs = [];
    for (const f of flags.share) inputs.push({ label: f, text: await readText(f, 'share file') });
    const passphrase = await combineShares(inputs, {
      rootFingerprint: root.ledger.root.sha256,
      recorded: root.ledger.shares ? { split: root.ledger.shares.split, checks: root.ledger.shares.checks } : undefined,
    });
    return { passphrase, fromShares: true };
  }
  const { getPassphrase } = await import('./secrets.js');
  return { passphrase: await getPassphrase(io, { file: flags.passphraseFile, credential: ROOT_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'root key' }), fromShares: false };
}

/** Decrypts the root key and checks that it is the key of root.pem. */
async function unlockRoot(io: Io, root: OpenRoot, flags: UnlockFlags): Promise<CryptoKey> {
  const { join } = await import('node:path');
  const { readText } = await import('./files.js');
  const { decryptPrivateKey, spkiOf } = await import('../src/ca/keys.js');
  const { CaError } = await import('../src/ca/errors.js');
  const pem = await readText(join(root.dir, ROOT_FILES.key), 'root key');
  const { passphrase, fromShares } = await rootPassphrase(io, root, flags);
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

/** Signs and appends one transcript entry after checking the chain so far; returns the new text and head. */
async function nextTranscript(root: { certificate: OpenRoot['certificate']; transcript: string }, privateKey: CryptoKey, event: string, data: Record<string, unknown>, now: Date) {
  const { appendEntry, entryHash, lastEntryForAppend, serializeEntry } = await import('../src/ca/chainlog.js');
  const publicKey = await root.certificate.publicKey.export();
  const last = await lastEntryForAppend(root.transcript, publicKey);
  const entry = await appendEntry(last, { event, data, time: now }, privateKey);
  return { text: root.transcript + serializeEntry(entry), head: entryHash(entry), entry };
}

/** Ledger first, then transcript: a crash between leaves a ledger that is ahead, never behind. */
async function commitRoot(root: OpenRoot, ledger: Ledger, transcript: { text: string; head: string }): Promise<void> {
  const { join } = await import('node:path');
  const { writeFileAtomic } = await import('./files.js');
  ledger.transcriptHead = transcript.head;
  await writeFileAtomic(join(root.dir, ROOT_FILES.ledger), JSON.stringify(ledger, null, 2) + '\n', 0o644);
  await writeFileAtomic(join(root.dir, ROOT_FILES.transcript), transcript.text, 0o644);
}

async function refuseExisting(path: string): Promise<void> {
  const { exists } = await import('./files.js');
  if (await exists(path)) throw new CliError('conflict', `${path} already exists; refusing to overwrite it`);
}

async function readCsrFile(path: string) {
  const { readBytes } = await import('./files.js');
  const { parseCsr } = await import('../src/ca/intermediate.js');
  const bytes = await readBytes(path, 'CSR');
  const text = bytes.toString('latin1');
  return parseCsr(text.includes('-----BEGIN') ? text : bytes);
}

/**
 * One ceremony command at a time per root directory (a second one would fork the transcript):
 * a kernel lock on .lock (src/store/lock.ts), released when the command ends or dies.
 */
async function withRootLock<R>(ctx: CliContext, dirFlag: string, fn: () => Promise<R>): Promise<R> {
  const { join, resolve } = await import('node:path');
  const { exists } = await import('./files.js');
  const { withFileLock, LockTimeoutError } = await import('../src/store/lock.js');
  const dir = resolve(ctx.io.cwd, dirFlag);
  // No lock file in a directory that is not a root (openRootDir reports that clearly).
  if (!(await exists(join(dir, ROOT_FILES.ledger)))) return fn();
  try {
    return await withFileLock(join(dir, '.lock'), fn, 2_000);
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new CliError('conflict', `another nixca command is working on ${dir} (${join(dir, '.lock')}); wait for it to finish`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// root init (also used by rotate for the new root).

interface InitFlags {
  dir: string;
  name: string;
  permitDns?: string[];
  allowIp?: boolean;
  validity?: number;
  keyAlgorithm?: string;
  passphraseFile?: string;
  shares?: number;
  threshold?: number;
  sharesDir?: string;
}

interface InitResult {
  dir: string;
  subject: string;
  serial: string;
  sha256: string;
  notBefore: string;
  notAfter: string;
  permittedDns: string[];
  excludedIp: string[];
  keyAlgorithm: string;
  shares: null | { total: number; threshold: number; files: string[] };
  transcriptHead: string;
}

async function initRoot(io: Io, flags: InitFlags, credential: string, extra?: Record<string, unknown>): Promise<{ result: InitResult; keys: CryptoKeyPair; certificate: OpenRoot['certificate'] }> {
  const { join, resolve, dirname, basename } = await import('node:path');
  const { mkdtemp, rename, rm, mkdir } = await import('node:fs/promises');
  const { writeNewFile } = await import('./files.js');
  const { KEY_ALGORITHMS, encryptPrivateKey, MIN_PASSPHRASE_LENGTH } = await import('../src/ca/keys.js');
  const { createRoot, permittedSubtrees, commonNameDn } = await import('../src/ca/root.js');
  const { checkShareCounts, randomPassphrase, splitPassphrase, serializeShare } = await import('../src/ca/shares.js');
  const { appendEntry, entryHash, serializeEntry } = await import('../src/ca/chainlog.js');
  const { certFingerprint } = await import('../src/ca/inspect.js');
  const { nameConstraintsOf } = await import('../src/ca/constraints.js');

  // 1. Everything that can be wrong with the input, before any secret is asked for or file written.
  const dir = resolve(io.cwd, flags.dir);
  const keyAlgorithm = flags.keyAlgorithm ?? 'ECDSA-P384';
  if (!(KEY_ALGORITHMS as readonly string[]).includes(keyAlgorithm)) throw new CliError('usage', `--key-algorithm must be one of ${KEY_ALGORITHMS.join(', ')}`);
  const permittedDns = permittedSubtrees(flags.permitDns ?? []);
  commonNameDn(flags.name);
  const splitting = flags.shares !== undefined || flags.threshold !== undefined;
  if (splitting) {
    if (flags.shares === undefined || flags.threshold === undefined) throw new CliError('usage', '--shares and --threshold go together');
    checkShareCounts(flags.shares, flags.threshold);
  }
  await ensureEmptyDir(dir);
  const sharesDir = splitting ? resolve(io.cwd, flags.sharesDir ?? join(flags.dir, ROOT_FILES.shares)) : undefined;
  if (sharesDir && flags.sharesDir) {
    for (let i = 1; i <= flags.shares!; i++) await refuseExisting(join(sharesDir, `share-${i}-of-${flags.shares}.json`));
  }

  // 2. The passphrase. With shares and no explicit source, a random one that only the shares open.
  let passphrase: string;
  const { exists } = await import('./files.js');
  const hasCredential = Boolean(io.env.CREDENTIALS_DIRECTORY) && (await exists(join(io.env.CREDENTIALS_DIRECTORY!, credential)));
  if (splitting && !flags.passphraseFile && !hasCredential) passphrase = randomPassphrase();
  else {
    const { getPassphrase } = await import('./secrets.js');
    passphrase = await getPassphrase(io, { file: flags.passphraseFile, credential, confirm: true, purpose: 'new root key' });
  }
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new CliError('input', `the root passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);

  // 3. The root, its encrypted key, the shares and the first transcript entry, all in memory.
  const now = io.now();
  const { certificate, keys } = await createRoot({ commonName: flags.name, permittedDns, allowIp: flags.allowIp, validityDays: flags.validity, keyAlgorithm: keyAlgorithm as never, now });
  const keyPem = await encryptPrivateKey(keys.privateKey, passphrase);
  const sha256 = certFingerprint(certificate);
  const shareFiles = splitting ? await splitPassphrase(passphrase, { shares: flags.shares!, threshold: flags.threshold!, rootFingerprint: sha256, rootName: flags.name.trim() }) : [];
  const nc = nameConstraintsOf(certificate)!;
  const rootInfo = {
    subject: certificate.subject,
    sha256,
    serial: certificate.serialNumber.toLowerCase(),
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    permittedDns,
    allowIp: Boolean(flags.allowIp),
    keyAlgorithm,
  };
  const sharesInfo = splitting
    ? { split: shareFiles[0]!.split, total: flags.shares!, threshold: flags.threshold!, checks: Object.fromEntries(shareFiles.map((s) => [String(s.index), s.check])) }
    : null;
  const first = await appendEntry(null, { event: 'root.init', time: now, data: { root: { ...rootInfo, excludedIp: nc.excludedIp }, shares: sharesInfo, ...extra } }, keys.privateKey);
  const ledger: Ledger = { format: 'nixca-root-ledger/1', root: rootInfo, shares: sharesInfo, crlNumber: 0, intermediates: [], crossCertificates: [], transcriptHead: entryHash(first) };

  // 4. Written into a temporary sibling, then renamed into place: a crash leaves no half root.
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(dirname(dir), `.${basename(dir)}.init-`));
  const sharePaths: string[] = [];
  const written: string[] = [];
  try {
    await writeNewFile(join(tmp, ROOT_FILES.key), keyPem, 0o600);
    await writeNewFile(join(tmp, ROOT_FILES.cert), certificate.toString('pem') + '\n', 0o644);
    await writeNewFile(join(tmp, ROOT_FILES.ledger), JSON.stringify(ledger, null, 2) + '\n', 0o644);
    await writeNewFile(join(tmp, ROOT_FILES.transcript), serializeEntry(first), 0o644);
    await mkdir(join(tmp, ROOT_FILES.intermediates), { mode: 0o755 });
    const inside = sharesDir !== undefined && !flags.sharesDir;
    if (inside) {
      await mkdir(join(tmp, ROOT_FILES.shares), { mode: 0o700 });
      for (const s of shareFiles) await writeNewFile(join(tmp, ROOT_FILES.shares, `share-${s.index}-of-${s.total}.json`), serializeShare(s), 0o600);
    }
    for (const s of shareFiles) sharePaths.push(join(sharesDir!, `share-${s.index}-of-${s.total}.json`));
    // Shares written elsewhere go out BEFORE the root appears: a root whose (random) passphrase
    // never reached its custodians would be unusable.
    if (sharesDir && !inside) {
      await mkdir(sharesDir, { recursive: true, mode: 0o700 });
      for (const [i, s] of shareFiles.entries()) {
        await writeNewFile(sharePaths[i]!, serializeShare(s), 0o600);
        written.push(sharePaths[i]!);
      }
    }
    await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') throw new CliError('conflict', `${dir} appeared while the root was being created; refusing to overwrite it`);
      throw err;
    });
    written.length = 0;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    // Only on failure: shares of a root that was never created.
    for (const f of written) await rm(f, { force: true });
  }
  return {
    keys,
    certificate,
    result: {
      dir,
      ...rootInfo,
      excludedIp: nc.excludedIp,
      shares: sharesInfo ? { total: sharesInfo.total, threshold: sharesInfo.threshold, files: sharePaths } : null,
      transcriptHead: ledger.transcriptHead,
    },
  };
}

/** `colonHex` is src/ca/inspect.ts's, passed in by the (async) caller that already loaded it. */
function initText(r: InitResult, colonHex: (hex: string) => string): string {
  return [
    `root created in ${r.dir}`,
    `  subject:    ${r.subject}`,
    `  serial:     ${r.serial}`,
    `  valid:      ${r.notBefore} → ${r.notAfter}`,
    `  key:        ${r.keyAlgorithm} (encrypted: ${ROOT_FILES.key}, mode 0600)`,
    `  permitted:  ${r.permittedDns.map((d) => 'DNS:' + d).join(', ')}`,
    `  excluded:   ${r.excludedIp.map((i) => 'IP:' + i).join(', ') || '-'}`,
    `  SHA-256:    ${colonHex(r.sha256)}`,
    ...(r.shares
      ? [
          `  passphrase split ${r.shares.threshold}-of-${r.shares.total}; give one file to each custodian and delete it here:`,
          ...r.shares.files.map((f) => '    ' + f),
        ]
      : []),
    `  transcript: ${ROOT_FILES.transcript} (head ${r.transcriptHead.slice(0, 16)}…); write the SHA-256 above on paper.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

const UNLOCK_HELP = {
  passphraseFile: 'file holding the root key passphrase (else $CREDENTIALS_DIRECTORY/nixca-root-passphrase, else a prompt)',
  share: 'a custodian share file instead of the passphrase (repeat for each share; the threshold is needed)',
};

export const registerRoot: RegisterGroup = (program: Command, ctx: CliContext) => {
  const root = program.command('root').description('offline root ceremony: create the root, sign intermediates, revoke, publish CRLs, rotate (air-gapped machine)');

  root
    .command('init')
    .description('create the root key (encrypted) and self-signed root certificate in a new directory')
    .requiredOption('--dir <dir>', 'new root directory (must not exist or be empty)')
    .requiredOption('--name <cn>', 'root common name, e.g. "n3x Internal Root CA"')
    .option('--permit-dns <subtree>', 'permitted DNS subtree (repeatable, at least one), e.g. n3x.internal', collect)
    .option('--allow-ip', 'do not exclude IPv4/IPv6 addresses in the name constraints')
    .option('--validity <duration>', 'root lifetime, e.g. 10y (default 10y)', parseDays('--validity'))
    .option('--key-algorithm <alg>', 'ECDSA-P384 (default), ECDSA-P256, Ed25519, RSA-3072, RSA-4096')
    .option('--passphrase-file <file>', 'file holding the new passphrase (else $CREDENTIALS_DIRECTORY/nixca-root-passphrase, else asked twice)')
    .option('--shares <n>', 'split the passphrase into N custodian shares (Shamir)', parseCount('--shares'))
    .option('--threshold <m>', 'shares needed to reconstruct the passphrase', parseCount('--threshold'))
    .option('--shares-dir <dir>', 'where to write the share files (default DIR/shares)')
    .option('--json', 'print JSON')
    .action(async (opts: InitFlags & { json?: boolean }) => {
      const { colonHex } = await import('../src/ca/inspect.js');
      const { result } = await initRoot(ctx.io, opts, ROOT_PASSPHRASE_CREDENTIAL);
      emit(ctx.io, opts, result, (r) => initText(r, colonHex));
    });

  root
    .command('sign-intermediate')
    .description("verify an issuer's CSR and sign its intermediate certificate (pathLen 0, the root's name constraints or narrower)")
    .requiredOption('--dir <dir>', 'root directory')
    .requiredOption('--csr <file>', 'the CSR from "nixca issuer init" (PEM or DER)')
    .requiredOption('--out <file>', 'where to write the intermediate certificate (PEM; must not exist)')
    .option('--validity <duration>', 'intermediate lifetime (default 1y)', parseDays('--validity'))
    .option('--permit-dns <subtree>', "narrower permitted DNS subtree (repeatable; default the root's)", collect)
    .option('--passphrase-file <file>', UNLOCK_HELP.passphraseFile)
    .option('--share <file>', UNLOCK_HELP.share, collect)
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; csr: string; out: string; validity?: number; permitDns?: string[]; json?: boolean } & UnlockFlags) => withRootLock(ctx, opts.dir, async () => {
      const { join, resolve } = await import('node:path');
      const { writeNewFile } = await import('./files.js');
      const { checkIntermediateCsr, signIntermediate } = await import('../src/ca/intermediate.js');
      const { certFingerprint, spkiFingerprint, sha256Hex, colonHex } = await import('../src/ca/inspect.js');
      const { permittedDnsOf } = await import('../src/ca/constraints.js');
      const r = await openRootDir(resolve(ctx.io.cwd, opts.dir));
      const out = resolve(ctx.io.cwd, opts.out);
      const csr = await readCsrFile(resolve(ctx.io.cwd, opts.csr));
      await checkIntermediateCsr(csr);
      await refuseExisting(out);
      // Checked again by signIntermediate; here so the operator hears about it before typing the passphrase.
      const { dnsSubtreesWithin } = await import('../src/ca/constraints.js');
      const { permittedSubtrees, DAY_MS } = await import('../src/ca/root.js');
      const { CaError } = await import('../src/ca/errors.js');
      const rootPermitted = permittedDnsOf(r.certificate);
      if (opts.permitDns?.length && rootPermitted && !dnsSubtreesWithin(permittedSubtrees(opts.permitDns), rootPermitted)) {
        throw new CaError('CA_NAME_NOT_PERMITTED', `--permit-dns ${opts.permitDns.join(', ')} is outside the root's permitted subtrees (${rootPermitted.join(', ')})`);
      }
      if (ctx.io.now().getTime() + (opts.validity ?? 365) * DAY_MS > r.certificate.notAfter.getTime()) {
        throw new CaError('CA_VALIDITY_INVALID', `the intermediate would end after the root (${r.certificate.notAfter.toISOString()}); shorten --validity or rotate the root`);
      }
      const privateKey = await unlockRoot(ctx.io, r, opts);
      const now = ctx.io.now();
      const cert = await signIntermediate({ certificate: r.certificate, privateKey }, csr, { validityDays: opts.validity, permittedDns: opts.permitDns, now });
      const serial = cert.serialNumber.toLowerCase();
      const entry: LedgerIntermediate = {
        serial,
        subject: cert.subject,
        sha256: certFingerprint(cert),
        spkiSha256: spkiFingerprint(cert.publicKey),
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
        permittedDns: permittedDnsOf(cert) ?? [],
        signedAt: now.toISOString(),
        revoked: null,
      };
      const pem = cert.toString('pem') + '\n';
      const transcript = await nextTranscript(r, privateKey, 'root.sign-intermediate', { intermediate: { ...entry, revoked: undefined }, csrSha256: sha256Hex(csr.rawData) }, now);
      await writeNewFile(join(r.dir, ROOT_FILES.intermediates, `${serial}.pem`), pem, 0o644);
      await commitRoot(r, { ...r.ledger, intermediates: [...r.ledger.intermediates, entry] }, transcript);
      await writeNewFile(out, pem, 0o644);
      emit(ctx.io, opts, { ...entry, out }, (e) =>
        [
          `intermediate signed: ${e.out}`,
          `  subject:   ${e.subject}`,
          `  serial:    ${e.serial}`,
          `  valid:     ${e.notBefore} → ${e.notAfter}`,
          `  permitted: ${e.permittedDns.map((d) => 'DNS:' + d).join(', ')}`,
          `  key (SPKI) SHA-256: ${colonHex(e.spkiSha256)}  (compare with what "nixca issuer init" printed)`,
          `  SHA-256:   ${colonHex(e.sha256)}`,
        ].join('\n'),
      );
    }));

  root
    .command('revoke')
    .description('record the revocation of an intermediate (publish it with "nixca root crl")')
    .requiredOption('--dir <dir>', 'root directory')
    .requiredOption('--serial <hex>', "the intermediate's serial number")
    .option('--reason <reason>', 'keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation or unspecified (default)')
    .option('--passphrase-file <file>', UNLOCK_HELP.passphraseFile)
    .option('--share <file>', UNLOCK_HELP.share, collect)
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; serial: string; reason?: string; json?: boolean } & UnlockFlags) => withRootLock(ctx, opts.dir, async () => {
      const { resolve } = await import('node:path');
      const { normalizeSerial } = await import('../src/ca/serial.js');
      const { CRL_REASONS } = await import('../src/ca/crl.js');
      const { CaError } = await import('../src/ca/errors.js');
      const reason = opts.reason ?? 'unspecified';
      if (!(CRL_REASONS as readonly string[]).includes(reason)) throw new CliError('usage', `--reason must be one of ${CRL_REASONS.join(', ')}`);
      const serial = normalizeSerial(opts.serial);
      if (!serial) throw new CliError('usage', `--serial must be hexadecimal, got ${JSON.stringify(opts.serial)}`);
      const r = await openRootDir(resolve(ctx.io.cwd, opts.dir));
      const found = r.ledger.intermediates.find((i) => normalizeSerial(i.serial) === serial);
      if (!found) throw new CaError('CA_SERIAL_UNKNOWN', `no intermediate with serial ${serial} was signed by this root`);
      if (found.revoked) throw new CaError('CA_ALREADY_REVOKED', `intermediate ${serial} was already revoked at ${found.revoked.at}`);
      const privateKey = await unlockRoot(ctx.io, r, opts);
      const now = ctx.io.now();
      const revoked = { at: now.toISOString(), reason };
      const transcript = await nextTranscript(r, privateKey, 'root.revoke', { serial: found.serial, subject: found.subject, sha256: found.sha256, reason }, now);
      const intermediates = r.ledger.intermediates.map((i) => (i === found ? { ...i, revoked } : i));
      await commitRoot(r, { ...r.ledger, intermediates }, transcript);
      emit(ctx.io, opts, { serial: found.serial, subject: found.subject, revokedAt: revoked.at, reason }, (d) =>
        `revoked intermediate ${d.serial} (${d.subject}), reason ${d.reason}; now publish a CRL: nixca root crl --dir ${opts.dir} --out FILE`,
      );
    }));

  root
    .command('crl')
    .description('issue a root-signed CRL listing the revoked intermediates')
    .requiredOption('--dir <dir>', 'root directory')
    .requiredOption('--out <file>', 'where to write the CRL (PEM; replaced atomically)')
    .option('--next-update <duration>', 'when relying parties should expect the next CRL (default 30d)', (v: string) => parseDuration('--next-update', v))
    .option('--passphrase-file <file>', UNLOCK_HELP.passphraseFile)
    .option('--share <file>', UNLOCK_HELP.share, collect)
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; out: string; nextUpdate?: number; json?: boolean } & UnlockFlags) => withRootLock(ctx, opts.dir, async () => {
      const { resolve } = await import('node:path');
      const { writeFileAtomic } = await import('./files.js');
      const { createCrl, crlToPem } = await import('../src/ca/crl.js');
      const { sha256Hex, colonHex } = await import('../src/ca/inspect.js');
      const nextMs = opts.nextUpdate ?? parseDuration('--next-update', '30d');
      const r = await openRootDir(resolve(ctx.io.cwd, opts.dir));
      const out = resolve(ctx.io.cwd, opts.out);
      const privateKey = await unlockRoot(ctx.io, r, opts);
      const now = ctx.io.now();
      const nextUpdate = new Date(now.getTime() + nextMs);
      const crlNumber = r.ledger.crlNumber + 1;
      const revoked = r.ledger.intermediates.filter((i) => i.revoked);
      const crl = await createCrl(
        { certificate: r.certificate, privateKey },
        { crlNumber, thisUpdate: now, nextUpdate, entries: revoked.map((i) => ({ serial: i.serial, revokedAt: new Date(i.revoked!.at), reason: i.revoked!.reason as never })) },
      );
      const sha256 = sha256Hex(crl.rawData);
      const transcript = await nextTranscript(r, privateKey, 'root.crl', { crlNumber, thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), revoked: revoked.map((i) => i.serial), sha256 }, now);
      // The number is reserved in the ledger before the CRL exists: a crash can skip a number,
      // never reuse one (RFC 5280 §5.2.3 only asks for increasing numbers).
      await commitRoot(r, { ...r.ledger, crlNumber }, transcript);
      await writeFileAtomic(out, crlToPem(crl), 0o644);
      emit(ctx.io, opts, { out, crlNumber, thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), revoked: revoked.map((i) => i.serial), sha256 }, (d) =>
        [`CRL #${d.crlNumber} written to ${d.out}`, `  next update: ${d.nextUpdate}`, `  revoked:     ${d.revoked.join(', ') || 'none'}`, `  SHA-256:     ${colonHex(d.sha256)}`].join('\n'),
      );
    }));

  const transcript = root.command('transcript').description('the signed, hash-chained record of the ceremony');
  transcript
    .command('verify')
    .description('check every entry of DIR/transcript.jsonl with only the root certificate (exit 1 if it was tampered with)')
    .requiredOption('--dir <dir>', 'root directory (or any directory holding transcript.jsonl)')
    .option('--root <file>', 'the root certificate to verify with, PEM or DER (default DIR/root.pem)')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; root?: string; json?: boolean }) => {
      const { join, resolve } = await import('node:path');
      const { exists, readText } = await import('./files.js');
      const { readCert } = await import('../src/ceremony/certificate-file.js');
      const { verifyLog } = await import('../src/ca/chainlog.js');
      const { certFingerprint, colonHex } = await import('../src/ca/inspect.js');
      const dir = resolve(ctx.io.cwd, opts.dir);
      const rootPath = opts.root ? resolve(ctx.io.cwd, opts.root) : join(dir, ROOT_FILES.cert);
      const cert = await readCert(rootPath, 'root certificate');
      const text = await readText(join(dir, ROOT_FILES.transcript), 'transcript');
      const v = await verifyLog(text, await cert.publicKey.export());
      const problems = [...v.problems];
      // The first entry must be the creation of THIS root (a valid log of another key is not ours).
      const first = v.entries[0];
      const rootSha = certFingerprint(cert);
      const firstRoot = (first?.data as { root?: { sha256?: string } } | undefined)?.root?.sha256;
      if (first && (first.seq !== 0 || first.event !== 'root.init' || firstRoot !== rootSha)) {
        problems.unshift({ line: 1, reason: 'the first entry is not the creation of this root certificate' });
      }
      // The ledger (when present) remembers the last head: a removed LAST entry shows up here.
      if (problems.length === 0 && (await exists(join(dir, ROOT_FILES.ledger)))) {
        try {
          const ledger = JSON.parse(await readText(join(dir, ROOT_FILES.ledger), 'ledger')) as Ledger;
          if (ledger.root?.sha256 === rootSha && ledger.transcriptHead && ledger.transcriptHead !== v.head) {
            problems.push({ line: v.count, reason: `the transcript ends at ${v.head.slice(0, 16)}…, but the ledger recorded ${ledger.transcriptHead.slice(0, 16)}… as its last entry (entries removed from the end?)` });
          }
        } catch {
          // An unreadable ledger does not make the signed transcript wrong; only the signatures decide.
        }
      }
      const result = { valid: problems.length === 0, entries: v.count, head: v.head, root: rootSha, problems, events: v.entries.map((e) => ({ seq: e.seq, time: e.time, event: e.event })) };
      emit(ctx.io, opts, result, (d) =>
        d.valid
          ? [`transcript OK: ${d.entries} entries signed by ${cert.subject} (SHA-256 ${colonHex(d.root)})`, ...d.events.map((e) => `  ${e.seq}  ${e.time}  ${e.event}`), `  head: ${d.head}`].join('\n')
          : ['transcript FAILED:', ...d.problems.map((p) => `  line ${p.line}: ${p.reason}`)].join('\n'),
      );
      if (!result.valid) {
        const p = problems[0]!;
        throw new CliError('check', `transcript verification failed (${problems.length} problem${problems.length > 1 ? 's' : ''}): line ${p.line}: ${p.reason}`);
      }
    });

  root
    .command('rotate')
    .description('create a new root key and certificate in a new directory, cross-signed by the current root (key rollover; both trusted during the overlap)')
    .requiredOption('--dir <dir>', 'current root directory')
    .requiredOption('--new-dir <dir>', 'new root directory (must not exist or be empty)')
    .option('--name <cn>', "new root common name (default: the current root's, which the cross-certificate needs)")
    .option('--no-cross', 'do not cross-sign (needed when --name differs; then sign the issuer CSR with both roots instead)')
    .option('--permit-dns <subtree>', "permitted DNS subtree of the new root (repeatable; default the current root's)", collect)
    .option('--allow-ip', 'do not exclude IP addresses in the new root')
    .option('--validity <duration>', 'new root lifetime (default 10y)', parseDays('--validity'))
    .option('--key-algorithm <alg>', 'new root key algorithm (default ECDSA-P384)')
    .option('--passphrase-file <file>', 'passphrase of the CURRENT root key (or --share)')
    .option('--share <file>', 'a share of the CURRENT root passphrase (repeatable)', collect)
    .option('--new-passphrase-file <file>', 'passphrase for the NEW root key (else $CREDENTIALS_DIRECTORY/nixca-new-root-passphrase, else asked twice)')
    .option('--shares <n>', 'split the NEW passphrase into N shares', parseCount('--shares'))
    .option('--threshold <m>', 'shares needed for the NEW passphrase', parseCount('--threshold'))
    .option('--shares-dir <dir>', 'where to write the NEW share files (default NEW-DIR/shares)')
    .option('--json', 'print JSON')
    .action(async (opts: Omit<InitFlags, 'dir' | 'passphraseFile' | 'name'> & UnlockFlags & { name?: string; cross: boolean; dir: string; newDir: string; newPassphraseFile?: string; json?: boolean }) => withRootLock(ctx, opts.dir, async () => {
      const { join, resolve } = await import('node:path');
      const { ensureDir, writeNewFile } = await import('./files.js');
      const { crossCertify } = await import('../src/ca/rotation.js');
      const { certFingerprint, colonHex } = await import('../src/ca/inspect.js');
      const old = await openRootDir(resolve(ctx.io.cwd, opts.dir));
      const oldCn = old.certificate.subjectName.getField('CN')[0] ?? '';
      const name = opts.name ?? oldCn;
      // RFC 5280 §6.1.4 (l): only a self-issued certificate (subject = issuer) is exempt from the
      // current root's pathLen 1. A cross-certificate for a differently named root would be a
      // second CA level below it, and every verifier would reject leaf → intermediate → cross → root.
      if (opts.cross && name.trim() !== oldCn) {
        throw new CliError('usage', `a cross-certificate needs the new root to keep the name "${oldCn}" (the current root's pathLen 1 only exempts self-issued certificates); drop --name, or add --no-cross and sign the issuer's CSR with both roots`);
      }
      await ensureEmptyDir(resolve(ctx.io.cwd, opts.newDir));
      const oldKey = await unlockRoot(ctx.io, old, opts);
      const made = await initRoot(
        ctx.io,
        {
          dir: opts.newDir,
          name,
          permitDns: opts.permitDns?.length ? opts.permitDns : old.ledger.root.permittedDns,
          allowIp: opts.allowIp,
          validity: opts.validity,
          keyAlgorithm: opts.keyAlgorithm,
          passphraseFile: opts.newPassphraseFile,
          shares: opts.shares,
          threshold: opts.threshold,
          sharesDir: opts.sharesDir,
        },
        NEW_ROOT_PASSPHRASE_CREDENTIAL,
        { rotatedFrom: { subject: old.certificate.subject, sha256: old.ledger.root.sha256 } },
      );
      const now = ctx.io.now();
      if (!opts.cross) {
        const oldT = await nextTranscript(old, oldKey, 'root.rotate', { newRoot: { subject: made.result.subject, sha256: made.result.sha256 }, cross: null }, now);
        await commitRoot(old, old.ledger, oldT);
        emit(ctx.io, opts, { newRoot: made.result, cross: null }, (d) =>
          [initText(d.newRoot, colonHex), 'No cross-certificate: sign the issuer CSR with both roots during the overlap and distribute both root.pem files.'].join('\n'),
        );
        return;
      }
      const cross = await crossCertify({ certificate: old.certificate, privateKey: oldKey }, made.certificate, { now });
      const crossInfo = { serial: cross.serialNumber.toLowerCase(), subject: cross.subject, sha256: certFingerprint(cross), notAfter: cross.notAfter.toISOString(), signedAt: now.toISOString() };
      const pem = cross.toString('pem') + '\n';
      // The old root's record of the cross-signature…
      const oldT = await nextTranscript(old, oldKey, 'root.rotate', { newRoot: { subject: made.result.subject, sha256: made.result.sha256 }, cross: crossInfo }, now);
      await ensureDir(join(old.dir, ROOT_FILES.cross), 0o755);
      await writeNewFile(join(old.dir, ROOT_FILES.cross, `${crossInfo.serial}.pem`), pem, 0o644);
      await commitRoot(old, { ...old.ledger, crossCertificates: [...(old.ledger.crossCertificates ?? []), crossInfo] }, oldT);
      // …and the new root's: the cross-certificate travels with it.
      const newDir = made.result.dir;
      await writeNewFile(join(newDir, ROOT_FILES.crossCert), pem, 0o644);
      const fresh = await openRootDir(newDir);
      const newT = await nextTranscript(fresh, made.keys.privateKey, 'root.cross-signed', { by: { subject: old.certificate.subject, sha256: old.ledger.root.sha256 }, cross: crossInfo }, now);
      await commitRoot(fresh, fresh.ledger, newT);
      emit(ctx.io, opts, { newRoot: made.result, cross: { ...crossInfo, path: join(newDir, ROOT_FILES.crossCert) } }, (d) =>
        [
          initText(d.newRoot, colonHex),
          `cross-certificate (current root → new root): ${d.cross.path}`,
          `  serial:  ${d.cross.serial}`,
          `  valid until ${d.cross.notAfter}`,
          `  SHA-256: ${colonHex(d.cross.sha256)}`,
          'Next: distribute the new root.pem next to the old one (trust both), sign a new intermediate with the new root, and retire the old root when nothing chains to it.',
        ].join('\n'),
      );
    }));
};
