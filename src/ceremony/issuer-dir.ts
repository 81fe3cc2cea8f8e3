// The online half of the ceremony: the issuer state directory. The intermediate key is made here
// and never leaves it; only its CSR travels to the offline root and the signed certificate travels
// back. The only code that knows this layout (docs/ceremony.md):
//   STATE/issuer/intermediate.key.pem   encrypted PKCS#8 (0600)
//   STATE/issuer/intermediate.csr.pem   the CSR for `nixca root sign-intermediate`
//   STATE/issuer/intermediate.pem       the signed intermediate (after `issuer install`)
//   STATE/issuer/root.pem               the root it chains to (after `issuer install`)
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { X509Certificate } from '@peculiar/x509';
import { permittedDnsOf } from '../ca/constraints.js';
import { CaError } from '../ca/errors.js';
import { certFingerprint, sha256Hex, spkiFingerprint } from '../ca/inspect.js';
import { createIntermediateRequest } from '../ca/intermediate.js';
import { decryptPrivateKey, encryptPrivateKey, MIN_PASSPHRASE_LENGTH, spkiOf } from '../ca/keys.js';
import { commonNameDn } from '../ca/root.js';
import { x509 } from '../ca/x509.js';
import { ensureDir, exists, readText, writeFileAtomic, writeNewFile } from '../store/files.js';
import { readCert } from './certificate-file.js';
import { CeremonyError } from './errors.js';

export const ISSUER_DIR = 'issuer';
export const ISSUER_FILES = {
  key: 'intermediate.key.pem',
  csr: 'intermediate.csr.pem',
  cert: 'intermediate.pem',
  root: 'root.pem',
} as const;

/** The installed issuer, as `serve`, `serve --dev` and `audit certify` use it. */
export interface LoadedIssuer {
  certificate: X509Certificate;
  privateKey: CryptoKey;
  root: X509Certificate;
  /** PEM of the intermediate (what follows a leaf in a chain). */
  intermediatePem: string;
  /** Paths, for components that serve the files (e.g. the root for clients to download). */
  certificatePath: string;
  rootPath: string;
}

/** A passphrase, asked for only once every check that needs no secret has passed. */
export type PassphraseSource = () => Promise<string>;

/**
 * Checks that `cert` is a CA certificate signed by `root`, that `root` is a self-signed CA, and that
 * `now` is inside both validity periods. Throws CA_CHAIN_INVALID / CA_VALIDITY_INVALID.
 */
export async function checkIntermediateChain(cert: X509Certificate, root: X509Certificate, now: Date): Promise<void> {
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
  return Buffer.from(cert.publicKey.rawData).equals(await spkiOf(publicKey));
}

const issuerDir = (state: string) => join(state, ISSUER_DIR);

/**
 * Loads the installed issuer: the intermediate certificate, its decrypted key and the root, after
 * checking that the key belongs to the certificate and that it chains to the root (so a
 * half-finished install or a swapped file fails at start, not at the first order).
 */
export async function loadIssuer(state: string, passphrase: string | PassphraseSource, now: Date = new Date()): Promise<LoadedIssuer> {
  const dir = issuerDir(state);
  const certificatePath = join(dir, ISSUER_FILES.cert);
  const rootPath = join(dir, ISSUER_FILES.root);
  if (!(await exists(join(dir, ISSUER_FILES.key)))) throw new CeremonyError('CEREMONY_NOT_INSTALLED', `no issuer key in ${dir}: run "nixca issuer init --state ${state}"`);
  if (!(await exists(certificatePath)) || !(await exists(rootPath))) {
    throw new CeremonyError('CEREMONY_NOT_INSTALLED', `the issuer in ${dir} is not installed yet: have the root sign ${ISSUER_FILES.csr}, then run "nixca issuer install"`);
  }
  const certificate = await readCert(certificatePath, 'intermediate certificate');
  const root = await readCert(rootPath, 'root certificate');
  await checkIntermediateChain(certificate, root, now);
  const keyPem = await readText(join(dir, ISSUER_FILES.key), 'intermediate key');
  const keys = await decryptPrivateKey(keyPem, typeof passphrase === 'string' ? passphrase : await passphrase());
  if (!(await keyMatches(certificate, keys.publicKey))) throw new CaError('CA_KEY_MISMATCH', `${ISSUER_FILES.key} is not the key of ${ISSUER_FILES.cert} in ${dir}`);
  return { certificate, privateKey: keys.privateKey, root, intermediatePem: certificate.toString('pem'), certificatePath, rootPath };
}

export interface IssuerInitResult {
  dir: string;
  key: string;
  csr: string;
  subject: string;
  keyAlgorithm: string;
  csrSha256: string;
  spkiSha256: string;
}

/** `issuer init`: the intermediate key (encrypted, 0600) and its CSR, created together or not at all. */
export async function initIssuer(opts: { state: string; name: string; keyAlgorithm?: string; passphrase: PassphraseSource }): Promise<IssuerInitResult> {
  const alg = opts.keyAlgorithm ?? 'ECDSA-P256';
  if (alg !== 'ECDSA-P256' && alg !== 'ECDSA-P384') throw new CeremonyError('CEREMONY_USAGE', '--key-algorithm must be ECDSA-P256 or ECDSA-P384');
  commonNameDn(opts.name);
  const dir = issuerDir(opts.state);
  if (await exists(join(dir, ISSUER_FILES.key))) throw new CeremonyError('CEREMONY_EXISTS', `${join(dir, ISSUER_FILES.key)} already exists; refusing to replace the issuer key`);
  const passphrase = await opts.passphrase();
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new CeremonyError('CEREMONY_INPUT', `the intermediate passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  const { csr, keys } = await createIntermediateRequest({ commonName: opts.name, keyAlgorithm: alg });
  const keyPem = await encryptPrivateKey(keys.privateKey, passphrase);
  // Key and CSR appear together or not at all: built in a temporary directory, then renamed.
  await ensureDir(opts.state);
  const tmp = await mkdtemp(join(opts.state, '.issuer.init-'));
  try {
    await writeNewFile(join(tmp, ISSUER_FILES.key), keyPem, 0o600);
    await writeNewFile(join(tmp, ISSUER_FILES.csr), csr.toString('pem') + '\n', 0o644);
    await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') throw new CeremonyError('CEREMONY_EXISTS', `${dir} exists and is not empty; refusing to overwrite it`);
      throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, key: join(dir, ISSUER_FILES.key), csr: join(dir, ISSUER_FILES.csr), subject: csr.subject, keyAlgorithm: alg, csrSha256: sha256Hex(csr.rawData), spkiSha256: spkiFingerprint(csr.publicKey) };
}

export interface IssuerInstallResult {
  dir: string;
  certificate: string;
  root: string;
  subject: string;
  serial: string;
  notAfter: string;
  permittedDns: string[];
  sha256: string;
  rootSha256: string;
}

/**
 * `issuer install`: the certificate the root signed, after checking it chains to the root and is
 * for the key in STATE/issuer; records the installation in the issuer's audit log and has the
 * (now unlocked) intermediate certify the audit signing key.
 */
export async function installIssuer(opts: { state: string; certPath: string; rootPath: string; passphrase: PassphraseSource; now: Date }): Promise<IssuerInstallResult> {
  const dir = issuerDir(opts.state);
  const keyPath = join(dir, ISSUER_FILES.key);
  const cert = await readCert(opts.certPath, 'intermediate certificate');
  const root = await readCert(opts.rootPath, 'root certificate');
  await checkIntermediateChain(cert, root, opts.now);
  if (!(await exists(keyPath))) throw new CeremonyError('CEREMONY_NOT_INSTALLED', `no issuer key in ${dir}: run "nixca issuer init" first`);
  const keys = await decryptPrivateKey(await readText(keyPath, 'intermediate key'), await opts.passphrase());
  if (!(await keyMatches(cert, keys.publicKey))) throw new CaError('CA_KEY_MISMATCH', `the certificate is not for the key in ${keyPath} (was it signed from another CSR?)`);
  // Root first: a crash in between leaves the new root with the old intermediate, which
  // loadIssuer rejects loudly; re-running install completes it.
  await writeFileAtomic(join(dir, ISSUER_FILES.root), root.toString('pem') + '\n', 0o644);
  await writeFileAtomic(join(dir, ISSUER_FILES.cert), cert.toString('pem') + '\n', 0o644);
  const result: IssuerInstallResult = {
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
  try {
    const { appendAudit } = await import('../audit/log.js');
    const { certifyAuditKey } = await import('../audit/certify.js');
    await appendAudit(opts.state, { type: 'issuer.installed', subject: result.serial, time: opts.now, details: { subject: result.subject, sha256: result.sha256, rootSha256: result.rootSha256, notAfter: result.notAfter } });
    await certifyAuditKey(opts.state, { certificate: cert, privateKey: keys.privateKey }, { now: opts.now });
  } catch (err) {
    throw new CeremonyError('CEREMONY_PARTLY_DONE', `the issuer is installed in ${dir}, but recording it in the audit log failed: ${(err as Error).message} (check with: nixca audit verify)`);
  }
  return result;
}
