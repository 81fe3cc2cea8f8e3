// The ledger is a summary of the signed transcript: what the root has done (intermediates,
// revocations, the last CRL number, cross-certificates). It is a pure function of the transcript
// (foldLedger), so every command can check that the two agree before it does anything, and a
// step whose transcript entry was written but whose ledger was not is found, not papered over.
import { entryHash, type ChainEntry } from '../ca/chainlog.js';
import { canonicalJson } from '../ca/chainlog.js';

export const LEDGER_FORMAT = 'nixca-root-ledger/1';

export interface LedgerIntermediate {
  serial: string;
  subject: string;
  sha256: string;
  spkiSha256: string;
  notBefore: string;
  notAfter: string;
  permittedDns: string[];
  signedAt: string;
  revoked: null | { at: string; reason: string };
}

export interface LedgerCross {
  serial: string;
  subject: string;
  sha256: string;
  notAfter: string;
  signedAt: string;
}

export interface Ledger {
  format: typeof LEDGER_FORMAT;
  root: { subject: string; sha256: string; serial: string; notBefore: string; notAfter: string; permittedDns: string[]; allowIp: boolean; keyAlgorithm: string };
  /** Present when the passphrase was split: the split id and each custodian's share checksum. */
  shares: null | { split: string; total: number; threshold: number; checks: Record<string, string> };
  /** The last CRL number issued or reserved (RFC 5280 §5.2.3: strictly increasing). */
  crlNumber: number;
  intermediates: LedgerIntermediate[];
  crossCertificates: LedgerCross[];
  /** SHA-256 of the latest transcript entry (a second place to notice truncation). */
  transcriptHead: string;
}

/** What `root transcript repair` found on disk and records, so that the ledger follows from the transcript again. */
export interface RepairAdoption {
  intermediates: LedgerIntermediate[];
  crossCertificates: LedgerCross[];
  revocations: { serial: string; at: string; reason: string }[];
  crlNumber: number | null;
}

type Data = Record<string, unknown>;

function applyEntry(ledger: Ledger, e: ChainEntry): Ledger {
  const d = e.data as Data;
  switch (e.event) {
    case 'root.sign-intermediate':
      return { ...ledger, intermediates: [...ledger.intermediates, { ...(d.intermediate as LedgerIntermediate), revoked: null }] };
    case 'root.revoke': {
      const revoked = { at: e.time, reason: String(d.reason) };
      return { ...ledger, intermediates: ledger.intermediates.map((i) => (i.serial === d.serial ? { ...i, revoked } : i)) };
    }
    case 'root.crl':
      return { ...ledger, crlNumber: Number(d.crlNumber) };
    case 'root.rotate':
      return d.cross ? { ...ledger, crossCertificates: [...ledger.crossCertificates, d.cross as LedgerCross] } : ledger;
    case 'root.repair': {
      const a = d.adopted as RepairAdoption;
      const revoked = new Map(a.revocations.map((r) => [r.serial, { at: r.at, reason: r.reason }]));
      return {
        ...ledger,
        intermediates: [...ledger.intermediates, ...a.intermediates].map((i) => (revoked.has(i.serial) ? { ...i, revoked: revoked.get(i.serial)! } : i)),
        crossCertificates: [...ledger.crossCertificates, ...a.crossCertificates],
        crlNumber: Math.max(ledger.crlNumber, a.crlNumber ?? 0),
      };
    }
    default:
      // root.cross-signed and any event that records without changing what the root has done.
      return ledger;
  }
}

/** The ledger that the (already verified) transcript entries describe. */
export function foldLedger(entries: readonly ChainEntry[]): Ledger {
  const first = entries[0];
  if (!first || first.event !== 'root.init') throw new Error('a root transcript starts with root.init');
  const { excludedIp: _excluded, ...root } = (first.data as Data).root as Ledger['root'] & { excludedIp?: string[] };
  let ledger: Ledger = { format: LEDGER_FORMAT, root, shares: ((first.data as Data).shares as Ledger['shares']) ?? null, crlNumber: 0, intermediates: [], crossCertificates: [], transcriptHead: entryHash(first) };
  for (const e of entries.slice(1)) ledger = applyEntry(ledger, e);
  return { ...ledger, transcriptHead: entryHash(entries.at(-1)!) };
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Where `ledger` (as stored) disagrees with `expected` (folded from the transcript); empty when they agree. */
export function ledgerFindings(ledger: Ledger, expected: Ledger, entries: readonly ChainEntry[]): string[] {
  const found: string[] = [];
  if (ledger.transcriptHead !== expected.transcriptHead) {
    const at = entries.findIndex((e) => entryHash(e) === ledger.transcriptHead);
    if (at < 0) {
      found.push(`the transcript ends at ${expected.transcriptHead.slice(0, 16)}…, but the ledger recorded ${String(ledger.transcriptHead).slice(0, 16)}… as its last entry (entries removed from the end, or a step interrupted)`);
    } else {
      const after = entries.slice(at + 1).map((e) => `${e.seq} ${e.event}`);
      found.push(`the transcript has entries the ledger does not reflect (${after.join(', ')}): a step was interrupted after its transcript entry was written`);
    }
  }
  if (!same(ledger.root, expected.root) || !same(ledger.shares, expected.shares)) found.push('the ledger describes the root or its shares differently from the transcript');
  const mine = new Map(ledger.intermediates.map((i) => [i.serial, i]));
  const theirs = new Map(expected.intermediates.map((i) => [i.serial, i]));
  for (const [serial, i] of mine) {
    const t = theirs.get(serial);
    if (!t) found.push(`the ledger lists intermediate ${serial} that the transcript does not record`);
    else if (!same({ ...i, revoked: null }, { ...t, revoked: null })) found.push(`the ledger's record of intermediate ${serial} differs from the transcript's`);
    else if (!same(i.revoked, t.revoked)) found.push(`the ledger and the transcript disagree on the revocation of intermediate ${serial}`);
  }
  for (const serial of theirs.keys()) if (!mine.has(serial)) found.push(`the transcript records intermediate ${serial} that the ledger does not list`);
  if (ledger.crlNumber !== expected.crlNumber) found.push(`the ledger's last CRL number is ${ledger.crlNumber}, the transcript's ${expected.crlNumber}`);
  if (!same(ledger.crossCertificates ?? [], expected.crossCertificates)) found.push('the ledger and the transcript list different cross-certificates');
  return found;
}
