// `nixca issuer …`: the online half of the ceremony. The intermediate key is made here and never
// leaves the state directory; only its CSR travels to the offline root and the signed certificate
// travels back. Layout (docs/ceremony.md):
//   STATE/issuer/intermediate.key.pem   encrypted PKCS#8 (0600)
//   STATE/issuer/intermediate.csr.pem   the CSR for `nixca root sign-intermediate`
//   STATE/issuer/intermediate.pem       the signed intermediate (after `issuer install`)
//   STATE/issuer/root.pem               the root it chains to (after `issuer install`)
import type { Command } from 'commander';
import type { X509Certificate } from '@peculiar/x509';
import { STATE_OPTION_HELP, stateDir, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';

/** The systemd credential name for the intermediate key's passphrase (shared with `nixca serve`). */
export const ISSUER_PASSPHRASE_CREDENTIAL = 'nixca-intermediate-passphrase';

export const ISSUER_DIR = 'issuer';
export const ISSUER_FILES = {
  key: 'intermediate.key.pem',
  csr: 'intermediate.csr.pem',
  cert: 'intermediate.pem',
  root: 'root.pem',
} as const;

export interface LoadedIssuer {
  certificate: X509Certificate;
  privateKey: CryptoKey;
  root: X509Certificate;
  /** Paths, for components that serve the files (e.g. the root for clients to download). */
  certificatePath: string;
  rootPath: string;
}

/** A certificate file, PEM or DER (also used by cli/audit.ts). */
export async function readCert(path: string, what: string): Promise<X509Certificate> {
  const { readBytes } = await import('./files.js');
  const { x509 } = await import('../src/ca/x509.js');
  const bytes = await readBytes(path, what);
  try {
    const text = bytes.toString('latin1');
    return new x509.X509Certificate(text.includes('-----BEGIN') ? text : new Uint8Array(bytes));
  } catch (err) {
    throw new CliError('input', `${path} is not a certificate (PEM or DER): ${(err as Error).message}`);
  }
}

/**
 * Checks that `cert` is a CA certificate signed by `root`, that `root` is a self-signed CA, and that
 * `now` is inside both validity periods. Throws CA_CHAIN_INVALID / CA_VALIDITY_INVALID.
 */
export async function checkIntermediateChain(cert: X509Certificate, root: X509Certificate, now: Date): Promise<void> {
  const { x509 } = await import('../src/ca/x509.js');
  const { CaError } = await import('../src/ca/errors.js');
  const rootBc = root.getExtension(x509.BasicConstraintsExtension);
  if (!rootBc?.ca) throw new CaError('CA_CHAIN_INVALID', 'the root certificate is not a CA certificate');
  if (!(await root.isSelfSigned().catch(() => false))) throw new CaError('CA_CHAIN_INVALID', 'the root certificate is not self-signed');
  if (Buffer.from(cert.publicKey.rawData).equals(Buffer.from(root.publicKey.rawData))) {
    throw new CaError('CA_CHAIN_INVALID', 'the certificate has the root\'s own key; give the intermediate certificate, not the root');
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new CaError('CA_CHAIN_INVALID', 'the certificate is not a CA certificate (basicConstraints CA:FALSE)');
  if (cert.issuer !== root.subject || !(await cert.verify({ publicKey: root.publicKey, signatureOnly: true }).catch(() => false))) {
    throw new CaError('CA_CHAIN_INVALID', `the certificate (issuer "${cert.issuer}") is not signed by this root ("${root.subject}")`);
  }
  for (const [c, what] of [[root, 'root'], [cert, 'intermediate']] as const) {
    if (now < c.notBefore) throw new CaError('CA_VALIDITY_INVALID', `the ${what} certificate is not valid before ${c.notBefore.toISOString()}`);
    if (now > c.notAfter) throw new CaError('CA_VALIDITY_INVALID', `the ${what} certificate expired at ${c.notAfter.toISOString()}`);
  }
}

async function keyMatches(cert: X509Certificate, publicKey: CryptoKey): Promise<boolean> {
  const { spkiOf } = await import('../src/ca/keys.js');
  return Buffer.from(cert.publicKey.rawData).equals(await spkiOf(publicKey));
}

/**
 * Loads the installed issuer for `nixca serve`: the intermediate certificate, its decrypted key
 * and the root, after checking that the key belongs to the certificate and that it chains to the
 * root (so a half-finished install or a swapped file fails at start, not at the first order).
 */
export async function loadIssuer(state: string, passphrase: string, now: Date = new Date()): Promise<LoadedIssuer> {
  const { join } = await import('node:path');
  const { exists, readText } = await import('./files.js');
  const { decryptPrivateKey } = await import('../src/ca/keys.js');
  const { CaError } = await import('../src/ca/errors.js');
  const dir = join(state, ISSUER_DIR);
  const certificatePath = join(dir, ISSUER_FILES.cert);
  const rootPath = join(dir, ISSUER_FILES.root);
  if (!(await exists(join(dir, ISSUER_FILES.key)))) throw new CliError('not-found', `no issuer key in ${dir}: run "nixca issuer init --state ${state}"`);
  if (!(await exists(certificatePath)) || !(await exists(rootPath))) {
    throw new CliError('not-found', `the issuer in ${dir} is not installed yet: have the root sign ${ISSUER_FILES.csr}, then run "nixca issuer install"`);
  }
  const certificate = await readCert(certificatePath, 'intermediate certificate');
  const root = await readCert(rootPath, 'root certificate');
  await checkIntermediateChain(certificate, root, now);
  const keys = await decryptPrivateKey(await readText(join(dir, ISSUER_FILES.key), 'intermediate key'), passphrase);
  if (!(await keyMatches(certificate, keys.publicKey))) throw new CaError('CA_KEY_MISMATCH', `${ISSUER_FILES.key} is not the key of ${ISSUER_FILES.cert} in ${dir}`);
  return { certificate, privateKey: keys.privateKey, root, certificatePath, rootPath };
}

export const registerIssuer: RegisterGroup = (program: Command, ctx: CliContext) => {
  const issuer = program.command('issuer').description("the online issuer's intermediate: make its key and CSR, install the certificate the root signed");

  issuer
    .command('init')
    .description('create the intermediate key (encrypted, 0600) and its CSR in STATE/issuer; the key never leaves it')
    .requiredOption('--name <cn>', 'intermediate common name, e.g. "n3x Issuing CA 1"')
    .option('--key-algorithm <alg>', 'ECDSA-P256 (default) or ECDSA-P384')
    .option('--passphrase-file <file>', 'file holding the new passphrase (else $CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, else asked twice)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; keyAlgorithm?: string; passphraseFile?: string; state?: string; json?: boolean }) => {
      const { join, resolve } = await import('node:path');
      const { mkdtemp, rename, rm } = await import('node:fs/promises');
      const { ensureDir, exists, writeNewFile } = await import('./files.js');
      const { getPassphrase } = await import('./secrets.js');
      const { encryptPrivateKey, MIN_PASSPHRASE_LENGTH } = await import('../src/ca/keys.js');
      const { createIntermediateRequest } = await import('../src/ca/intermediate.js');
      const { commonNameDn } = await import('../src/ca/root.js');
      const { spkiFingerprint, sha256Hex, colonHex } = await import('../src/ca/inspect.js');
      const alg = opts.keyAlgorithm ?? 'ECDSA-P256';
      if (alg !== 'ECDSA-P256' && alg !== 'ECDSA-P384') throw new CliError('usage', '--key-algorithm must be ECDSA-P256 or ECDSA-P384');
      commonNameDn(opts.name);
      const state = resolve(ctx.io.cwd, stateDir(ctx, opts.state));
      const dir = join(state, ISSUER_DIR);
      if (await exists(join(dir, ISSUER_FILES.key))) throw new CliError('conflict', `${join(dir, ISSUER_FILES.key)} already exists; refusing to replace the issuer key`);
      const passphrase = await getPassphrase(ctx.io, { file: opts.passphraseFile, credential: ISSUER_PASSPHRASE_CREDENTIAL, confirm: true, purpose: 'new intermediate key' });
      if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new CliError('input', `the intermediate passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
      const { csr, keys } = await createIntermediateRequest({ commonName: opts.name, keyAlgorithm: alg });
      const keyPem = await encryptPrivateKey(keys.privateKey, passphrase);
      const csrPem = csr.toString('pem') + '\n';
      // Key and CSR appear together or not at all: built in a temporary directory, then renamed.
      await ensureDir(state);
      const tmp = await mkdtemp(join(state, '.issuer.init-'));
      try {
        await writeNewFile(join(tmp, ISSUER_FILES.key), keyPem, 0o600);
        await writeNewFile(join(tmp, ISSUER_FILES.csr), csrPem, 0o644);
        await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') throw new CliError('conflict', `${dir} exists and is not empty; refusing to overwrite it`);
          throw err;
        });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      const result = { dir, key: join(dir, ISSUER_FILES.key), csr: join(dir, ISSUER_FILES.csr), subject: csr.subject, keyAlgorithm: alg, csrSha256: sha256Hex(csr.rawData), spkiSha256: spkiFingerprint(csr.publicKey) };
      emit(ctx.io, opts, result, (r) =>
        [
          `intermediate key and CSR created in ${r.dir}`,
          `  key:  ${r.key} (${r.keyAlgorithm}, encrypted, 0600; it never leaves this machine)`,
          `  CSR:  ${r.csr} (${r.subject})`,
          `  key (SPKI) SHA-256: ${colonHex(r.spkiSha256)}`,
          '  Carry the CSR to the root ceremony (nixca root sign-intermediate) and compare this fingerprint there.',
        ].join('\n'),
      );
    });

  issuer
    .command('install')
    .description('install the intermediate certificate signed by the root, after checking it matches the key and chains to the root')
    .requiredOption('--cert <file>', 'the intermediate certificate from "nixca root sign-intermediate"')
    .requiredOption('--root <file>', 'the root certificate (root.pem from the ceremony)')
    .option('--passphrase-file <file>', 'file holding the intermediate key passphrase (else $CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, else a prompt)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { cert: string; root: string; passphraseFile?: string; state?: string; json?: boolean }) => {
      const { join, resolve } = await import('node:path');
      const { exists, readText, writeFileAtomic } = await import('./files.js');
      const { getPassphrase } = await import('./secrets.js');
      const { decryptPrivateKey } = await import('../src/ca/keys.js');
      const { CaError } = await import('../src/ca/errors.js');
      const { certFingerprint, colonHex } = await import('../src/ca/inspect.js');
      const { permittedDnsOf } = await import('../src/ca/constraints.js');
      const state = resolve(ctx.io.cwd, stateDir(ctx, opts.state));
      const dir = join(state, ISSUER_DIR);
      const keyPath = join(dir, ISSUER_FILES.key);
      const cert = await readCert(resolve(ctx.io.cwd, opts.cert), 'intermediate certificate');
      const root = await readCert(resolve(ctx.io.cwd, opts.root), 'root certificate');
      await checkIntermediateChain(cert, root, ctx.io.now());
      if (!(await exists(keyPath))) throw new CliError('not-found', `no issuer key in ${dir}: run "nixca issuer init" first`);
      const passphrase = await getPassphrase(ctx.io, { file: opts.passphraseFile, credential: ISSUER_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'intermediate key' });
      const keys = await decryptPrivateKey(await readText(keyPath, 'intermediate key'), passphrase);
      if (!(await keyMatches(cert, keys.publicKey))) throw new CaError('CA_KEY_MISMATCH', `the certificate is not for the key in ${keyPath} (was it signed from another CSR?)`);
      // Root first: a crash in between leaves the new root with the old intermediate, which
      // loadIssuer rejects loudly; re-running install completes it.
      await writeFileAtomic(join(dir, ISSUER_FILES.root), root.toString('pem') + '\n', 0o644);
      await writeFileAtomic(join(dir, ISSUER_FILES.cert), cert.toString('pem') + '\n', 0o644);
      const result = {
        dir,
        certificate: join(dir, ISSUER_FILES.cert),
        root: join(dir, ISSUER_FILES.root),
        subject: cert.subject,
        serial: cert.serialNumber.toLowerCase(),
        notAfter: cert.notAfter.toISOString(),
        permittedDns: permittedDnsOf(cert) ?? [],
        sha256: certFingerprint(cert),
        rootSha256: certFingerprint(root),
      };
      // The issuer's own audit log (src/audit, issue #7): record the installation and, while the
      // intermediate key is unlocked anyway, have it certify the audit signing key.
      try {
        const { appendAudit } = await import('../src/audit/log.js');
        const { certifyAuditKey } = await import('../src/audit/certify.js');
        await appendAudit(state, { type: 'issuer.installed', subject: result.serial, time: ctx.io.now(), details: { subject: result.subject, sha256: result.sha256, rootSha256: result.rootSha256, notAfter: result.notAfter } });
        await certifyAuditKey(state, { certificate: cert, privateKey: keys.privateKey }, { now: ctx.io.now() });
      } catch (err) {
        throw new CliError('io', `the issuer is installed in ${dir}, but recording it in the audit log failed: ${(err as Error).message} (check with: nixca audit verify)`);
      }
      emit(ctx.io, opts, result, (r) =>
        [
          `issuer installed in ${r.dir}`,
          `  intermediate: ${r.subject}, serial ${r.serial}, valid until ${r.notAfter}`,
          `  permitted:    ${r.permittedDns.map((d) => 'DNS:' + d).join(', ') || '-'}`,
          `  SHA-256:      ${colonHex(r.sha256)}`,
          `  root SHA-256: ${colonHex(r.rootSha256)}  (compare with the ceremony record)`,
        ].join('\n'),
      );
    });
};
