// `root rotate`: a new root key and certificate in a new directory, cross-signed by the current
// root (key rollover; both trusted during the overlap). Order: every check, the current root's
// secret, the new passphrase, everything in memory; then the cross-certificate's copy in the
// current root (found by every later command if nothing else follows), the new root (one rename),
// and the current root's transcript entry (its commit point).
import { join } from 'node:path';
import { appendEntry } from '../ca/chainlog.js';
import { certFingerprint } from '../ca/inspect.js';
import { crossCertify } from '../ca/rotation.js';
import { CeremonyError } from './errors.js';
import { makeRoot, planRoot, writeRoot, type InitInput, type InitResult } from './init.js';
import type { LedgerCross } from './ledger.js';
import { checkRootWritable, commitStep, openRootDir, ROOT_FILES, unlockRoot, withRootLock, type FaultHook, type SecretSource } from './root-dir.js';

export interface RotateInput {
  /** The current root directory (absolute). */
  dir: string;
  secret: SecretSource;
  /** The new root; `name` defaults to the current root's, `permitDns` to its subtrees. */
  newRoot: Omit<InitInput, 'name' | 'now'> & { name?: string };
  cross: boolean;
  now?: () => Date;
  fault?: FaultHook;
}

export interface RotateResult {
  newRoot: InitResult;
  cross: null | (LedgerCross & { path: string });
}

export async function rotateRoot(input: RotateInput): Promise<RotateResult> {
  const clock = input.now ?? (() => new Date());
  return withRootLock(input.dir, async () => {
    const old = await openRootDir(input.dir);
    const oldCn = old.certificate.subjectName.getField('CN')[0] ?? '';
    const name = input.newRoot.name ?? oldCn;
    // RFC 5280 §6.1.4 (l): only a self-issued certificate (subject = issuer) is exempt from the
    // current root's pathLen 1. A cross-certificate for a differently named root would be a
    // second CA level below it, and every verifier would reject leaf → intermediate → cross → root.
    if (input.cross && name.trim() !== oldCn) {
      throw new CeremonyError('CEREMONY_USAGE', `a cross-certificate needs the new root to keep the name "${oldCn}" (the current root's pathLen 1 only exempts self-issued certificates); drop --name, or add --no-cross and sign the issuer's CSR with both roots`);
    }
    const plan = await planRoot({ ...input.newRoot, name, permitDns: input.newRoot.permitDns?.length ? input.newRoot.permitDns : old.ledger.root.permittedDns, now: clock });
    await checkRootWritable(old);
    const oldKey = await unlockRoot(old, input.secret);
    const made = await makeRoot(plan, { rotatedFrom: { subject: old.certificate.subject, sha256: old.ledger.root.sha256 } });
    const now = clock();
    const newRoot = { subject: made.result.subject, sha256: made.result.sha256 };
    if (!input.cross) {
      // The current root signs nothing here; a crash between the two leaves a new root and a
      // current root that does not mention it yet (both consistent).
      await writeRoot(made);
      await commitStep(old, oldKey, { event: 'root.rotate', data: { newRoot, cross: null }, time: now }, input.fault);
      return { newRoot: made.result, cross: null };
    }
    const cross = await crossCertify({ certificate: old.certificate, privateKey: oldKey }, made.certificate, { now });
    const crossInfo: LedgerCross = { serial: cross.serialNumber.toLowerCase(), subject: cross.subject, sha256: certFingerprint(cross), notAfter: cross.notAfter.toISOString(), signedAt: now.toISOString() };
    const pem = cross.toString('pem') + '\n';
    const crossSigned = await appendEntry(made.first, { event: 'root.cross-signed', data: { by: { subject: old.certificate.subject, sha256: old.ledger.root.sha256 }, cross: crossInfo }, time: now }, made.keys.privateKey);
    await commitStep(
      old,
      oldKey,
      {
        event: 'root.rotate',
        data: { newRoot, cross: crossInfo },
        time: now,
        files: [{ path: join(ROOT_FILES.cross, `${crossInfo.serial}.pem`), content: pem }],
        // The new root carries its cross-certificate and the record of it from the start.
        beforeCommit: () => writeRoot(made, [crossSigned], [{ path: ROOT_FILES.crossCert, content: pem }]),
      },
      input.fault,
    );
    return { newRoot: made.result, cross: { ...crossInfo, path: join(made.result.dir, ROOT_FILES.crossCert) } };
  });
}
