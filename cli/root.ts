// `nixca root …`: flags, secret sources, rendering and exit codes for the offline root ceremony.
// The steps, the root directory's layout and its one commit point are src/ceremony (docs/ceremony.md).
import type { Command } from 'commander';
import { collect, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { parseDuration, parseWholeDuration } from '../src/config/duration.js';
import { emit, type Io } from './io.js';
import type { SecretSource } from '../src/ceremony/root-dir.js';

/** A --validity: the one duration grammar (src/config/duration.ts), in whole days (certificate lifetimes). */
const parseDays = (flag: string) => (v: string) => parseWholeDuration(flag, v, 'd');

function parseCount(flag: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new CliError('usage', `${flag} must be a whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

interface UnlockFlags {
  passphraseFile?: string;
  share?: string[];
}

/** --share files (Shamir), else a passphrase asked for (file, systemd credential, prompt) only when the step needs it. */
async function secretSource(io: Io, flags: UnlockFlags, credential?: string): Promise<SecretSource> {
  const { getPassphrase, ROOT_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
  if (flags.share?.length) {
    if (flags.passphraseFile) throw new CliError('usage', 'give either --passphrase-file or --share, not both');
    const { readText } = await import('./files.js');
    const shares = [];
    for (const f of flags.share) shares.push({ label: f, text: await readText(f, 'share file') });
    return { shares };
  }
  return { passphrase: () => getPassphrase(io, { file: flags.passphraseFile, credential: credential ?? ROOT_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'root key' }) };
}

interface NewRootFlags {
  permitDns?: string[];
  allowIp?: boolean;
  validity?: number;
  keyAlgorithm?: string;
  shares?: number;
  threshold?: number;
  sharesDir?: string;
}

/** An impossible M-of-N is a mistake in the flags (usage), not a failed unlock (auth). */
function checkShareFlags(flags: NewRootFlags): void {
  if (flags.shares === undefined || flags.threshold === undefined) throw new CliError('usage', '--shares and --threshold go together');
  const { shares, threshold } = flags;
  if (threshold < 2 || shares < threshold || shares > 255) {
    throw new CliError('usage', `--threshold must be at least 2 and at most --shares (at most 255), got --shares ${shares} --threshold ${threshold}`);
  }
}

/** The new root's passphrase: a file, a credential or a prompt asked twice; with shares and none of those, a random one. */
async function newRootInput(io: Io, flags: NewRootFlags, passphraseFile: string | undefined, credential: string) {
  const { join, resolve } = await import('node:path');
  const { exists } = await import('./files.js');
  const { getPassphrase } = await import('./secrets.js');
  const splitting = flags.shares !== undefined || flags.threshold !== undefined;
  if (splitting) checkShareFlags(flags);
  const hasCredential = Boolean(io.env.CREDENTIALS_DIRECTORY) && (await exists(join(io.env.CREDENTIALS_DIRECTORY!, credential)));
  const random = splitting && !passphraseFile && !hasCredential;
  return {
    permitDns: flags.permitDns,
    allowIp: flags.allowIp,
    validityDays: flags.validity,
    keyAlgorithm: flags.keyAlgorithm,
    shares: flags.shares,
    threshold: flags.threshold,
    sharesDir: flags.sharesDir === undefined ? undefined : resolve(io.cwd, flags.sharesDir),
    passphrase: random ? undefined : () => getPassphrase(io, { file: passphraseFile, credential, confirm: true, purpose: 'new root key' }),
  };
}

const UNLOCK_HELP = {
  passphraseFile: 'file holding the root key passphrase (else $CREDENTIALS_DIRECTORY/nixca-root-passphrase, else a prompt)',
  share: 'a custodian share file instead of the passphrase (repeat for each share; the threshold is needed)',
};

export const registerRoot: RegisterGroup = (program: Command, ctx: CliContext) => {
  const root = program.command('root').description('offline root ceremony: create the root, sign intermediates, revoke, publish CRLs, rotate (air-gapped machine)');
  const abs = async (p: string) => (await import('node:path')).resolve(ctx.io.cwd, p);
  const now = () => ctx.io.now();
  const unlockOptions = (c: Command) => c.option('--passphrase-file <file>', UNLOCK_HELP.passphraseFile).option('--share <file>', UNLOCK_HELP.share, collect).option('--json', 'print JSON');

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
    .action(async (opts: NewRootFlags & { dir: string; name: string; passphraseFile?: string; json?: boolean }) => {
      const { initRoot } = await import('../src/ceremony/init.js');
      const { ROOT_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
      const input = await newRootInput(ctx.io, opts, opts.passphraseFile, ROOT_PASSPHRASE_CREDENTIAL);
      const result = await initRoot({ ...input, dir: await abs(opts.dir), name: opts.name, now });
      emit(ctx.io, opts, result, (await import('./root-text.js')).initText);
    });

  unlockOptions(
    root
      .command('sign-intermediate')
      .description("verify an issuer's CSR and sign its intermediate certificate (pathLen 0, the root's name constraints or narrower)")
      .requiredOption('--dir <dir>', 'root directory')
      .requiredOption('--csr <file>', 'the CSR from "nixca issuer init" (PEM or DER)')
      .requiredOption('--out <file>', 'where to write the intermediate certificate (PEM; must not exist)')
      .option('--validity <duration>', 'intermediate lifetime (default 1y)', parseDays('--validity'))
      .option('--permit-dns <subtree>', "narrower permitted DNS subtree (repeatable; default the root's)", collect),
  ).action(async (opts: { dir: string; csr: string; out: string; validity?: number; permitDns?: string[]; json?: boolean } & UnlockFlags) => {
    const { signIntermediate } = await import('../src/ceremony/sign-intermediate.js');
    const secret = await secretSource(ctx.io, opts);
    const result = await signIntermediate({ dir: await abs(opts.dir), csrPath: await abs(opts.csr), out: await abs(opts.out), validityDays: opts.validity, permitDns: opts.permitDns, secret, now });
    emit(ctx.io, opts, result, (await import('./root-text.js')).signedText);
  });

  unlockOptions(
    root
      .command('revoke')
      .description('record the revocation of an intermediate (publish it with "nixca root crl")')
      .requiredOption('--dir <dir>', 'root directory')
      .requiredOption('--serial <hex>', "the intermediate's serial number")
      .option('--reason <reason>', 'keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation or unspecified (default)'),
  ).action(async (opts: { dir: string; serial: string; reason?: string; json?: boolean } & UnlockFlags) => {
    const { revokeIntermediate } = await import('../src/ceremony/revoke.js');
    const secret = await secretSource(ctx.io, opts);
    const result = await revokeIntermediate({ dir: await abs(opts.dir), serial: opts.serial, reason: opts.reason, secret, now });
    emit(ctx.io, opts, result, (d) => `revoked intermediate ${d.serial} (${d.subject}), reason ${d.reason}; now publish a CRL: nixca root crl --dir ${opts.dir} --out FILE`);
  });

  unlockOptions(
    root
      .command('crl')
      .description('issue a root-signed CRL listing the revoked intermediates')
      .requiredOption('--dir <dir>', 'root directory')
      .requiredOption('--out <file>', 'where to write the CRL (PEM; replaced atomically)')
      .option('--next-update <duration>', 'when relying parties should expect the next CRL (default 30d)', (v: string) => parseDuration('--next-update', v)),
  ).action(async (opts: { dir: string; out: string; nextUpdate?: number; json?: boolean } & UnlockFlags) => {
    const { issueRootCrl } = await import('../src/ceremony/crl.js');
    const { colonHex } = await import('../src/ca/inspect.js');
    const nextUpdateMs = opts.nextUpdate ?? parseDuration('--next-update', '30d');
    const secret = await secretSource(ctx.io, opts);
    const result = await issueRootCrl({ dir: await abs(opts.dir), out: await abs(opts.out), nextUpdateMs, secret, now });
    emit(ctx.io, opts, result, (d) =>
      [`CRL #${d.crlNumber} written to ${d.out}`, `  next update: ${d.nextUpdate}`, `  revoked:     ${d.revoked.join(', ') || 'none'}`, `  SHA-256:     ${colonHex(d.sha256)}`].join('\n'),
    );
  });

  const transcript = root.command('transcript').description('the signed, hash-chained record of the ceremony');
  transcript
    .command('verify')
    .description('check every entry of DIR/transcript.jsonl with only the root certificate, and the ledger against it (exit 1 if anything disagrees)')
    .requiredOption('--dir <dir>', 'root directory (or any directory holding transcript.jsonl)')
    .option('--root <file>', 'the root certificate to verify with, PEM or DER (default DIR/root.pem)')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; root?: string; json?: boolean }) => {
      const { verifyTranscript } = await import('../src/ceremony/transcript.js');
      const { result, rootSubject } = await verifyTranscript(await abs(opts.dir), opts.root ? await abs(opts.root) : undefined);
      const { transcriptText } = await import('./root-text.js');
      emit(ctx.io, opts, result, (d) => transcriptText(d, rootSubject));
      if (!result.valid) {
        const p = result.problems[0]!;
        const n = result.problems.length;
        throw new CliError('check', `transcript verification failed (${n} problem${n > 1 ? 's' : ''}): line ${p.line}: ${p.reason}`);
      }
    });

  unlockOptions(
    transcript
      .command('repair')
      .description('after an interrupted step: record in the transcript what the root directory holds that it does not, and rebuild the ledger from it')
      .requiredOption('--dir <dir>', 'root directory'),
  ).action(async (opts: { dir: string; json?: boolean } & UnlockFlags) => {
    const { repairTranscript } = await import('../src/ceremony/transcript.js');
    const secret = await secretSource(ctx.io, opts);
    const result = await repairTranscript({ dir: await abs(opts.dir), secret, now });
    emit(ctx.io, opts, result, (await import('./root-text.js')).repairText);
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
    .action(async (opts: NewRootFlags & UnlockFlags & { name?: string; cross: boolean; dir: string; newDir: string; newPassphraseFile?: string; json?: boolean }) => {
      const { rotateRoot } = await import('../src/ceremony/rotate.js');
      const { NEW_ROOT_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
      const secret = await secretSource(ctx.io, opts);
      const input = await newRootInput(ctx.io, opts, opts.newPassphraseFile, NEW_ROOT_PASSPHRASE_CREDENTIAL);
      const result = await rotateRoot({ dir: await abs(opts.dir), secret, newRoot: { ...input, name: opts.name, dir: await abs(opts.newDir) }, cross: opts.cross, now });
      emit(ctx.io, opts, result, (await import('./root-text.js')).rotateText);
    });
};
