// Binds the audit signing key to the issuer: the intermediate certifies it, so that `audit verify`
// can check every entry with a key the root (through the intermediate) vouches for. Called where the
// intermediate key is already unlocked (`nixca issuer install`, `nixca serve` start); idempotent.
import { mkdir, readFile, writeFile, rename, open } from 'node:fs/promises';
import { spkiFingerprint } from '../ca/inspect.js';
import { signingAlgorithm } from '../ca/keys.js';
import type { IssuerMaterial } from '../ca/leaf.js';
import { randomSerial } from '../ca/serial.js';
import { authorityKeyIdentifierFor, x509 } from '../ca/x509.js';
import { LockTimeoutError, withFileLock } from '../store/lock.js';
import { AuditError } from './errors.js';
import { auditPaths, keyIdOf } from './entry.js';
import { loadOrCreateAuditKey } from './key.js';
import { appendAudit } from './log.js';

/** Subject of audit-signing certificates. Not a host name: name constraints on dNSName do not apply. */
/** RFC 9336 §3.1: signing of documents (here: audit-log entries). */
export const ID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';

export const AUDIT_CERT_SUBJECT = 'CN=nixca audit log signer';

/** Reads every certificate in the bundle (empty when there is none yet). */
export async function readAuditCertificates(stateDir: string): Promise<x509.X509Certificate[]> {
  let pem: string;
  try {
    pem = await readFile(auditPaths(stateDir).cert, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((b) => new x509.X509Certificate(b));
  } catch (err) {
    throw new AuditError('AUDIT_KEY_INVALID', `${auditPaths(stateDir).cert} holds a damaged certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** `cert` names `issuer` as its issuer and carries its signature (no validity or path checks). */
export async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (cert.issuer !== issuer.subject) return false;
  try {
    return await cert.verify({ publicKey: await issuer.publicKey.export(), signatureOnly: true });
  } catch {
    return false;
  }
}

/**
 * This host's audit key and what a verifier on any other host needs to trust it: the audit
 * certificate(s) for that key and the intermediate(s) among `intermediates` that issued them (the
 * shared chain's signers, src/store/pg/audit.ts). Without a certificate yet: the key alone.
 */
export async function auditSignerOf(stateDir: string, intermediates: readonly x509.X509Certificate[] = []): Promise<{ keys: CryptoKeyPair; certificates: string }> {
  await mkdir(auditPaths(stateDir).dir, { recursive: true, mode: 0o700 });
  const { keys } = await withFileLock(auditPaths(stateDir).lock, () => loadOrCreateAuditKey(stateDir));
  const keyId = await keyIdOf(keys.publicKey);
  const mine = (await readAuditCertificates(stateDir)).filter((c) => spkiFingerprint(c.publicKey) === keyId);
  const issuers = intermediates.filter((i) => mine.some((c) => c.issuer === i.subject));
  const pem = [...mine, ...issuers].map((c) => c.toString('pem').trim());
  return { keys, certificates: pem.length ? pem.join('\n') + '\n' : '' };
}

export interface CertifyResult {
  certificate: x509.X509Certificate;
  /** False when a certificate from this issuer for this key was already valid long enough. */
  issued: boolean;
}

/**
 * Makes sure the audit key has a certificate from `issuer` valid for at least `minRemainingDays`
 * more; issues one otherwise (valid until the issuer's own notAfter: the log signs for as long as
 * the issuer lives). Records `audit.certified` in the log.
 */
export async function certifyAuditKey(
  stateDir: string,
  issuer: IssuerMaterial,
  opts: { now?: Date; minRemainingDays?: number } = {},
): Promise<CertifyResult> {
  const now = opts.now ?? new Date();
  const minRemainingMs = (opts.minRemainingDays ?? 30) * 86_400_000;
  const p = auditPaths(stateDir);
  // The lock file lives in the audit directory, which does not exist before the first entry.
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  const result = await withFileLock(p.lock, async (): Promise<CertifyResult & { keyId: string }> => {
    const { keys } = await loadOrCreateAuditKey(stateDir);
    const keyId = await keyIdOf(keys.publicKey);
    const existing = await readAuditCertificates(stateDir);
    for (const c of existing) {
      if (
        spkiFingerprint(c.publicKey) === keyId &&
        (await signedBy(c, issuer.certificate)) &&
        c.notAfter.getTime() - now.getTime() >= Math.min(minRemainingMs, issuer.certificate.notAfter.getTime() - now.getTime() - 1)
      ) {
        return { certificate: c, issued: false, keyId };
      }
    }
    const notBefore = new Date(now.getTime() - 5 * 60_000);
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: AUDIT_CERT_SUBJECT,
      issuer: issuer.certificate.subjectName,
      notBefore: notBefore < issuer.certificate.notBefore ? issuer.certificate.notBefore : notBefore,
      notAfter: issuer.certificate.notAfter,
      publicKey: keys.publicKey,
      signingKey: issuer.privateKey,
      signingAlgorithm: signingAlgorithm(issuer.privateKey),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // RFC 5280 §4.2.1.3: the key signs log entries (digitalSignature) whose content it vouches
        // for later (contentCommitment); it certifies nothing and is no TLS key (no EKU serverAuth).
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
      // RFC 9336 id-kp-documentSigning, alone: a verifier refuses this key for TLS (serverAuth/clientAuth).
      new x509.ExtendedKeyUsageExtension([ID_KP_DOCUMENT_SIGNING], false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await authorityKeyIdentifierFor(issuer.certificate),
      ],
    });
    // Append to the bundle atomically (temp + fsync + rename): older certificates stay, so entries
    // signed while they were current remain checkable.
    const pem = existing.map((c) => c.toString('pem')).concat(certificate.toString('pem')).join('\n') + '\n';
    const tmp = `${p.cert}.${process.pid}.tmp`;
    await writeFile(tmp, pem, { mode: 0o644 });
    const fh = await open(tmp, 'r+');
    await fh.sync().finally(() => fh.close());
    await rename(tmp, p.cert);
    return { certificate, issued: true, keyId };
  }).catch((err: unknown) => {
    if (err instanceof LockTimeoutError) throw new AuditError('AUDIT_LOCKED', `the audit log is locked by another nixca process: ${err.message}`);
    throw err;
  });
  if (!result.issued) return { certificate: result.certificate, issued: false };
  const { certificate, keyId } = result;
  await appendAudit(stateDir, {
    type: 'audit.certified',
    subject: 'audit',
    details: { serial: certificate.serialNumber, keyId, issuer: issuer.certificate.subject, notAfter: certificate.notAfter.toISOString() },
    time: now,
  });
  return { certificate, issued: true };
}
