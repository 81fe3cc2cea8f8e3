// `root revoke`: record the revocation of an intermediate this root signed (published by the next
// `root crl`).
import { CRL_REASONS } from '../ca/crl.js';
import { CaError } from '../ca/errors.js';
import { normalizeSerial } from '../ca/serial.js';
import { CeremonyError } from './errors.js';
import { checkRootWritable, commitStep, openRootDir, unlockRoot, withRootLock, type FaultHook, type SecretSource } from './root-dir.js';

export interface RevokeInput {
  dir: string;
  serial: string;
  reason?: string;
  secret: SecretSource;
  now?: () => Date;
  fault?: FaultHook;
}

export interface RevokeResult {
  serial: string;
  subject: string;
  revokedAt: string;
  reason: string;
}

export async function revokeIntermediate(input: RevokeInput): Promise<RevokeResult> {
  const reason = input.reason ?? 'unspecified';
  if (!(CRL_REASONS as readonly string[]).includes(reason)) throw new CeremonyError('CEREMONY_USAGE', `--reason must be one of ${CRL_REASONS.join(', ')}`);
  const serial = normalizeSerial(input.serial);
  if (!serial) throw new CeremonyError('CEREMONY_USAGE', `--serial must be hexadecimal, got ${JSON.stringify(input.serial)}`);
  return withRootLock(input.dir, async () => {
    const root = await openRootDir(input.dir);
    const found = root.ledger.intermediates.find((i) => normalizeSerial(i.serial) === serial);
    if (!found) throw new CaError('CA_SERIAL_UNKNOWN', `no intermediate with serial ${serial} was signed by this root`);
    if (found.revoked) throw new CaError('CA_ALREADY_REVOKED', `intermediate ${serial} was already revoked at ${found.revoked.at}`);
    await checkRootWritable(root);
    const privateKey = await unlockRoot(root, input.secret);
    const now = (input.now ?? (() => new Date()))();
    await commitStep(root, privateKey, { event: 'root.revoke', data: { serial: found.serial, subject: found.subject, sha256: found.sha256, reason }, time: now }, input.fault);
    return { serial: found.serial, subject: found.subject, revokedAt: now.toISOString(), reason };
  });
}
