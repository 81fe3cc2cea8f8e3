// `root sign-intermediate`: verify an issuer's CSR and sign its intermediate certificate (pathLen
// 0, the root's name constraints or narrower). Everything that can be checked without the root key
// is checked before the secret is asked for; the certificate is recorded before it leaves DIR.
import { join } from 'node:path';
import { dnsSubtreesWithin, permittedDnsOf } from '../ca/constraints.js';
import { CaError } from '../ca/errors.js';
import { certFingerprint, sha256Hex, spkiFingerprint } from '../ca/inspect.js';
import { checkIntermediateCsr, signIntermediate as signWithRoot } from '../ca/intermediate.js';
import { DAY_MS, permittedSubtrees, validityDaysOrThrow } from '../ca/root.js';
import { checkWritableTarget, writeNewFile } from '../store/files.js';
import { readCsr } from './certificate-file.js';
import { CeremonyError } from './errors.js';
import type { LedgerIntermediate } from './ledger.js';
import { checkRootWritable, commitStep, openRootDir, ROOT_FILES, unlockRoot, withRootLock, type FaultHook, type SecretSource } from './root-dir.js';

export interface SignIntermediateInput {
  /** Absolute paths. */
  dir: string;
  csrPath: string;
  out: string;
  validityDays?: number;
  permitDns?: readonly string[];
  secret: SecretSource;
  now?: () => Date;
  fault?: FaultHook;
}

export type SignIntermediateResult = LedgerIntermediate & { out: string };

export async function signIntermediate(input: SignIntermediateInput): Promise<SignIntermediateResult> {
  const clock = input.now ?? (() => new Date());
  return withRootLock(input.dir, async () => {
    const root = await openRootDir(input.dir);
    const csr = await readCsr(input.csrPath);
    await checkIntermediateCsr(csr);
    await checkWritableTarget(input.out, 'intermediate certificate', { mustNotExist: true });
    await checkRootWritable(root);
    // signIntermediate checks these again; here so that nobody is asked for a secret in vain.
    const rootPermitted = permittedDnsOf(root.certificate);
    if (input.permitDns?.length && rootPermitted && !dnsSubtreesWithin(permittedSubtrees(input.permitDns), rootPermitted)) {
      throw new CaError('CA_NAME_NOT_PERMITTED', `--permit-dns ${input.permitDns.join(', ')} is outside the root's permitted subtrees (${rootPermitted.join(', ')})`);
    }
    if (!input.permitDns?.length && !rootPermitted?.length) throw new CaError('CA_NAME_INVALID', 'the root has no permitted DNS subtrees; give the intermediate its own');
    const days = validityDaysOrThrow(input.validityDays ?? 365, 'intermediate');
    const checkedAt = clock();
    if (checkedAt.getTime() + days * DAY_MS > root.certificate.notAfter.getTime()) {
      throw new CaError('CA_VALIDITY_INVALID', `the intermediate would end after the root (${root.certificate.notAfter.toISOString()}); shorten --validity or rotate the root`);
    }
    if (checkedAt < root.certificate.notBefore) throw new CaError('CA_VALIDITY_INVALID', 'the root is not valid yet (check the clock of the ceremony machine)');

    const privateKey = await unlockRoot(root, input.secret);
    const now = clock();
    const cert = await signWithRoot({ certificate: root.certificate, privateKey }, csr, { validityDays: input.validityDays, permittedDns: input.permitDns, now });
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
    const copy = join(ROOT_FILES.intermediates, `${serial}.pem`);
    await commitStep(
      root,
      privateKey,
      { event: 'root.sign-intermediate', data: { intermediate: { ...entry, revoked: undefined }, csrSha256: sha256Hex(csr.rawData) }, time: now, files: [{ path: copy, content: pem }] },
      input.fault,
    );
    input.fault?.('out');
    try {
      await writeNewFile(input.out, pem, 0o644);
    } catch (err) {
      throw new CeremonyError('CEREMONY_PARTLY_DONE', `intermediate ${serial} was signed and recorded, but ${input.out} could not be written (${(err as Error).message}); copy it from ${join(input.dir, copy)}`);
    }
    return { ...entry, out: input.out };
  });
}
