// `root transcript verify` (only the root certificate is needed) and `root transcript repair`
// (records, in a root-signed entry, what an interrupted step or an outside change left behind, so
// that the ledger follows from the transcript again).
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { X509Certificate } from '@peculiar/x509';
import { verifyLog, type ChainProblem } from '../ca/chainlog.js';
import { permittedDnsOf } from '../ca/constraints.js';
import { certFingerprint, colonHex, sha256Hex, spkiFingerprint } from '../ca/inspect.js';
import { x509 } from '../ca/x509.js';
import { exists, isTempName, readBytes, readText } from '../store/files.js';
import { readCert } from './certificate-file.js';
import { CeremonyError } from './errors.js';
import { foldLedger, type Ledger, type LedgerCross, type LedgerIntermediate, type RepairAdoption } from './ledger.js';
import { checkRootWritable, commitStep, findingsFor, openRootDir, readLedger, ROOT_FILES, unlockRoot, withRootLock, type FaultHook, type RootDir, type SecretSource } from './root-dir.js';

export interface TranscriptVerification {
  valid: boolean;
  entries: number;
  head: string;
  root: string;
  problems: ChainProblem[];
  events: { seq: number; time: string; event: string }[];
}

/** Checks every entry with only the root certificate (`rootPath`, default DIR/root.pem), and the ledger against it when DIR has one. */
export async function verifyTranscript(dir: string, rootPath = join(dir, ROOT_FILES.cert)): Promise<{ result: TranscriptVerification; rootSubject: string }> {
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
  // The ledger (when present) must be what the transcript describes: a removed last entry, or a
  // step interrupted between the two, shows up here.
  if (problems.length === 0 && (await exists(join(dir, ROOT_FILES.ledger)))) {
    let ledger: Ledger | undefined;
    try {
      // The check every ceremony command makes: JSON, the ledger format, this root.
      ledger = await readLedger(dir, cert);
    } catch (err) {
      if (!(err instanceof CeremonyError) || err.code !== 'CEREMONY_DAMAGED') throw err;
      // The signed transcript is still sound, but every ceremony command refuses this directory.
      problems.push({ line: v.count, reason: `${err.message}: rebuild it from the transcript with "nixca root transcript repair"` });
    }
    if (ledger) for (const reason of await findingsFor(dir, ledger, v.entries)) problems.push({ line: v.count, reason });
  }
  const result = { valid: problems.length === 0, entries: v.count, head: v.head, root: rootSha, problems, events: v.entries.map((e) => ({ seq: e.seq, time: e.time, event: e.event })) };
  return { result, rootSubject: cert.subject };
}

export interface RepairResult {
  dir: string;
  repaired: boolean;
  findings: string[];
  adopted: RepairAdoption | null;
  removed: { file: string; sha256: string }[];
  transcriptHead: string;
}

/** Parses `path` as a certificate signed by this root, or null. */
async function signedByRoot(root: RootDir, path: string): Promise<X509Certificate | null> {
  try {
    const cert = new x509.X509Certificate((await readBytes(path, 'certificate')).toString('latin1'));
    const ok = cert.issuer === root.certificate.subject && (await cert.verify({ publicKey: root.certificate.publicKey, signatureOnly: true }));
    return ok ? cert : null;
  } catch {
    return null;
  }
}

interface RepairPlan {
  adopted: RepairAdoption;
  removed: { file: string; sha256: string }[];
  /** Certificates found under a temporary name, written under their serial before the commit. */
  files: { path: string; content: string }[];
  temps: string[];
}

const cantRepair = (dir: string, what: string) =>
  new CeremonyError('CEREMONY_DAMAGED', `cannot repair ${dir}: ${what}; nothing was changed`);

/** What the ledger or the certificate folders hold that the transcript does not: adopted when the evidence is there. */
async function planRepair(root: RootDir): Promise<RepairPlan> {
  const expected = foldLedger(root.entries);
  const plan: RepairPlan = { adopted: { intermediates: [], crossCertificates: [], revocations: [], crlNumber: null }, removed: [], files: [], temps: [] };
  const groups = [
    { sub: ROOT_FILES.intermediates, mine: root.ledger.intermediates as (LedgerIntermediate | LedgerCross)[], theirs: expected.intermediates as (LedgerIntermediate | LedgerCross)[], into: plan.adopted.intermediates as unknown[] },
    { sub: ROOT_FILES.cross, mine: root.ledger.crossCertificates, theirs: expected.crossCertificates, into: plan.adopted.crossCertificates as unknown[] },
  ];
  for (const g of groups) {
    const known = new Set(g.theirs.map((r) => r.serial));
    for (const r of g.mine.filter((x) => !known.has(x.serial))) {
      const cert = await signedByRoot(root, join(root.dir, g.sub, `${r.serial}.pem`));
      if (!cert || certFingerprint(cert) !== r.sha256) throw cantRepair(root.dir, `the ledger lists ${r.serial} but ${g.sub}/${r.serial}.pem is missing or is not that certificate signed by this root (restore it from a backup)`);
      g.into.push(r);
      known.add(r.serial);
    }
    for (const r of g.theirs) {
      if (!(await exists(join(root.dir, g.sub, `${r.serial}.pem`)))) throw cantRepair(root.dir, `${g.sub}/${r.serial}.pem (SHA-256 ${colonHex(r.sha256)}) is missing; restore it from a backup`);
    }
    for (const name of await readdir(join(root.dir, g.sub)).catch(() => [] as string[])) {
      if (known.has(name.replace(/\.pem$/, '')) && name.endsWith('.pem')) continue;
      const path = join(root.dir, g.sub, name);
      const cert = await signedByRoot(root, path);
      if (!cert && isTempName(name)) {
        // A write torn before it was renamed into place: never a usable certificate.
        plan.removed.push({ file: join(g.sub, name), sha256: sha256Hex(await readBytes(path, 'file')) });
        plan.temps.push(path);
        continue;
      }
      if (!cert) throw cantRepair(root.dir, `${g.sub}/${name} is not a certificate signed by this root; move it out of the root directory`);
      const serial = cert.serialNumber.toLowerCase();
      if (known.has(serial)) {
        plan.temps.push(path);
        continue;
      }
      g.into.push(recordOf(cert, g.sub === ROOT_FILES.cross));
      known.add(serial);
      if (isTempName(name) || name !== `${serial}.pem`) {
        plan.files.push({ path: join(g.sub, `${serial}.pem`), content: cert.toString('pem') + '\n' });
        plan.temps.push(path);
      }
    }
  }
  const theirs = new Map(expected.intermediates.map((i) => [i.serial, i]));
  for (const i of root.ledger.intermediates) {
    if (i.revoked && theirs.has(i.serial) && !theirs.get(i.serial)!.revoked) plan.adopted.revocations.push({ serial: i.serial, ...i.revoked });
  }
  if (root.ledger.crlNumber > expected.crlNumber) plan.adopted.crlNumber = root.ledger.crlNumber;
  return plan;
}

/** A certificate found on disk, as the ledger records it (notBefore is the signing time for both kinds). */
function recordOf(cert: X509Certificate, cross: boolean): LedgerIntermediate | LedgerCross {
  const base = { serial: cert.serialNumber.toLowerCase(), subject: cert.subject, sha256: certFingerprint(cert) };
  if (cross) return { ...base, notAfter: cert.notAfter.toISOString(), signedAt: cert.notBefore.toISOString() };
  return {
    ...base,
    spkiSha256: spkiFingerprint(cert.publicKey),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    permittedDns: permittedDnsOf(cert) ?? [],
    signedAt: cert.notBefore.toISOString(),
    revoked: null,
  };
}

/**
 * `root transcript repair`: refuses what it cannot vouch for (a broken chain, a record whose
 * certificate is gone, a foreign file); otherwise appends a root.repair entry listing what it found
 * and adopted, and rewrites the ledger from the transcript. Nothing to repair: no entry, no secret.
 */
export async function repairTranscript(input: { dir: string; secret: SecretSource; now?: () => Date; fault?: FaultHook }): Promise<RepairResult> {
  return withRootLock(input.dir, async () => {
    const root = await openRootDir(input.dir, { forRepair: true });
    const head = root.ledger.transcriptHead;
    if (root.findings.length === 0) return { dir: input.dir, repaired: false, findings: [], adopted: null, removed: [], transcriptHead: head };
    const plan = await planRepair(root);
    await checkRootWritable(root);
    const privateKey = await unlockRoot(root, input.secret);
    const now = (input.now ?? (() => new Date()))();
    const { ledger } = await commitStep(
      root,
      privateKey,
      {
        event: 'root.repair',
        data: { findings: root.findings, adopted: plan.adopted, removed: plan.removed },
        time: now,
        files: plan.files,
        beforeCommit: async () => {
          for (const t of plan.temps) await unlink(t).catch(() => undefined);
        },
      },
      input.fault,
    );
    return { dir: input.dir, repaired: true, findings: root.findings, adopted: plan.adopted, removed: plan.removed, transcriptHead: ledger.transcriptHead };
  });
}
