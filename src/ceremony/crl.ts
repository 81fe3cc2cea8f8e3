// `root crl`: a root-signed CRL listing the revoked intermediates (RFC 5280 §5).
import { createCrl, crlToPem } from '../ca/crl.js';
import { sha256Hex } from '../ca/inspect.js';
import { checkWritableTarget, writeFileAtomic } from '../store/files.js';
import { CeremonyError } from './errors.js';
import { checkRootWritable, commitStep, openRootDir, unlockRoot, withRootLock, type FaultHook, type SecretSource } from './root-dir.js';

export interface CrlInput {
  dir: string;
  /** Absolute; replaced atomically. */
  out: string;
  nextUpdateMs: number;
  secret: SecretSource;
  now?: () => Date;
  fault?: FaultHook;
}

export interface CrlResult {
  out: string;
  crlNumber: number;
  thisUpdate: string;
  nextUpdate: string;
  revoked: string[];
  sha256: string;
}

export async function issueRootCrl(input: CrlInput): Promise<CrlResult> {
  return withRootLock(input.dir, async () => {
    const root = await openRootDir(input.dir);
    await checkWritableTarget(input.out, 'CRL', { mustNotExist: false });
    await checkRootWritable(root);
    const privateKey = await unlockRoot(root, input.secret);
    const now = (input.now ?? (() => new Date()))();
    const nextUpdate = new Date(now.getTime() + input.nextUpdateMs);
    const crlNumber = root.ledger.crlNumber + 1;
    const revoked = root.ledger.intermediates.filter((i) => i.revoked);
    const crl = await createCrl(
      { certificate: root.certificate, privateKey },
      { crlNumber, thisUpdate: now, nextUpdate, entries: revoked.map((i) => ({ serial: i.serial, revokedAt: new Date(i.revoked!.at), reason: i.revoked!.reason as never })) },
    );
    const result = { out: input.out, crlNumber, thisUpdate: now.toISOString(), nextUpdate: nextUpdate.toISOString(), revoked: revoked.map((i) => i.serial), sha256: sha256Hex(crl.rawData) };
    // The number is recorded before the CRL leaves DIR: a crash can skip a number, never reuse
    // one (RFC 5280 §5.2.3 only asks for increasing numbers).
    const { out: _out, ...data } = result;
    await commitStep(root, privateKey, { event: 'root.crl', data, time: now }, input.fault);
    input.fault?.('out');
    try {
      await writeFileAtomic(input.out, crlToPem(crl), 0o644);
    } catch (err) {
      throw new CeremonyError('CEREMONY_PARTLY_DONE', `CRL #${crlNumber} was signed and recorded, but ${input.out} could not be written (${(err as Error).message}); run "nixca root crl" again for a new one`);
    }
    return result;
  });
}
