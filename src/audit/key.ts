// The audit signing key (audit/signing-key.pem): ECDSA P-256, PKCS#8, 0600, made on first use.
// certify.ts binds it to the issuer; log.ts signs every entry with it.
import { closeSync, fsync, openSync, readFileSync } from 'node:fs';
import { open, mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CaError } from '../ca/errors.js';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from '../ca/keys.js';
import { auditPaths } from './entry.js';
import { AuditError } from './errors.js';

const fsyncAsync = promisify(fsync);

/**
 * fsync a directory so a new entry in it survives a crash (best effort where unsupported). Opening
 * and closing the directory are synchronous (they change nothing, and cost less than a thread-pool
 * round trip); the fsync, which waits for the device, is not.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    await fsyncAsync(fd).catch(() => undefined);
  } finally {
    closeSync(fd);
  }
}

/** A small file's text, or undefined if it cannot be read now (read synchronously: see fsyncDir). */
function readSmallFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

// The imported audit key, by key file and its exact content: importing the PEM again on every
// append costs more than signing (bench/micro.js); reading the small file is cheap, so a replaced
// key is always noticed.
const auditKeys = new Map<string, { pem: string; keys: CryptoKeyPair }>();

/** The audit signing key, created (0600, O_EXCL) on first use. Call under the log lock. */
export async function loadOrCreateAuditKey(stateDir: string): Promise<{ keys: CryptoKeyPair; created: boolean }> {
  const p = auditPaths(stateDir);
  const pem = readSmallFile(p.key);
  const hit = auditKeys.get(p.key);
  if (pem !== undefined && hit?.pem === pem) return { keys: hit.keys, created: false };
  const r = await loadOrCreateAuditKeyUncached(stateDir);
  const now = await readFile(p.key, 'utf8').catch(() => undefined);
  if (now !== undefined) auditKeys.set(p.key, { pem: now, keys: r.keys });
  return r;
}

async function loadOrCreateAuditKeyUncached(stateDir: string): Promise<{ keys: CryptoKeyPair; created: boolean }> {
  const p = auditPaths(stateDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  let pem: string | undefined;
  try {
    pem = await readFile(p.key, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (pem !== undefined) {
    try {
      return { keys: await importPrivateKeyPem(pem), created: false };
    } catch (err) {
      if (err instanceof CaError) throw new AuditError('AUDIT_KEY_INVALID', `${p.key}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const keys = await generateKeyPair('ECDSA-P256');
  const fh = await open(p.key, 'wx', 0o600);
  try {
    await fh.writeFile(await exportPrivateKeyPem(keys.privateKey));
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(p.dir);
  return { keys, created: true };
}
