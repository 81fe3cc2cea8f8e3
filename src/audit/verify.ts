// `nixca audit verify`: the whole chain (src/ca/chainlog.ts verifyLog: every signature, every
// `prev`, every `seq`), with the key that the intermediate certified, that certificate up to the
// root, and optionally an externally anchored head (detects truncation of the newest entries).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { entryHash, verifyLog } from '../ca/chainlog.js';
import type { x509 } from '../ca/x509.js';
import { spkiFingerprint } from '../ca/inspect.js';
import { readAuditCertificates, signedBy } from './certify.js';
import { AuditError } from './errors.js';
import { importSpkiP256, parseEntryLine } from './entry.js';
import { readAuditHead, readLogText } from './log.js';

export interface AuditTrust {
  /** Candidate issuers of the audit certificate (the intermediate(s) of the state directory). */
  intermediates?: readonly x509.X509Certificate[];
  /** The root the intermediate must chain to. */
  root?: x509.X509Certificate;
  /** A head recorded elsewhere (`nixca audit head`): that entry must still be in the log, unchanged. */
  anchor?: { seq: number; hash: string };
  /** Accept a log whose key has no certificate yet (before `issuer install`). */
  allowUncertified?: boolean;
  /**
   * Serials the ACME store holds (certificates, revocations): each must have its entry. Catches
   * entries cut off the end of the log as long as the store still has their records.
   */
  store?: { certificates: readonly string[]; revocations: readonly string[] };
}

/** Problems of the log's end: cut mid-line, shorter than its recorded head, records without entries. */
function endProblems(v: { entries: Array<{ seq: number }>; hashOf(seq: number): string | undefined }, torn: string, head: { seq: number; hash: string } | null | undefined, store: AuditTrust['store'], audited: { issued: Set<string>; revoked: Set<string> }): AuditProblem[] {
  const out: AuditProblem[] = [];
  const lastSeq = v.entries.at(-1)?.seq ?? null;
  if (torn) {
    out.push({ seq: lastSeq === null ? 0 : lastSeq + 1, line: v.entries.length + 1, reason: `the log is cut in the middle of an entry (${Buffer.byteLength(torn)} bytes after entry ${lastSeq ?? 'none'}): an append interrupted by a crash, or a truncation; nixca serve records and removes it at start` });
  }
  if (head === null && lastSeq !== null) {
    // Every append rewrites head.json, so a log with entries and no head lost it: deleting it is
    // how entries cut off the end would otherwise go unnoticed.
    out.push({ seq: lastSeq + 1, line: null, reason: `audit/head.json is missing although the log has entries (every append writes it): it was deleted, and entries may have been removed from the end with it; the next append recreates it, so compare with an anchored head (audit verify --anchor)` });
  }
  if (head) {
    const at = v.hashOf(head.seq);
    if (at === undefined) out.push({ seq: head.seq, line: null, reason: `the log ends at entry ${lastSeq ?? 'none'} but audit/head.json records entry ${head.seq}: entries were removed from its end` });
    else if (at !== head.hash) out.push({ seq: head.seq, line: null, reason: `entry ${head.seq} differs from the one audit/head.json records: the log was rewritten` });
  }
  for (const s of store?.certificates ?? []) if (!audited.issued.has(s)) out.push({ seq: lastSeq === null ? 0 : lastSeq + 1, line: null, reason: `certificate ${s} is in the ACME store but has no certificate.issued entry (removed from the log, or not yet recovered: nixca serve writes missing entries at start)` });
  for (const s of store?.revocations ?? []) if (!audited.revoked.has(s)) out.push({ seq: lastSeq === null ? 0 : lastSeq + 1, line: null, reason: `revocation of ${s} is in the ACME store but has no certificate.revoked entry (removed from the log, or not yet recovered: nixca serve writes missing entries at start)` });
  return out;
}

export interface AuditProblem {
  /** The entry position where the check failed (0-based), or null for problems of the signer. */
  seq: number | null;
  line: number | null;
  reason: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  /** The first entry position that does not check out: edited, removed, reordered or damaged. */
  firstBadSeq: number | null;
  problems: AuditProblem[];
  /** The log ends mid-entry (a crash mid-append, or a cut): also reported as a problem. */
  tornTail: { bytes: number; afterSeq: number | null } | null;
  signer: {
    keyId: string | null;
    certified: boolean;
    certificate: { serial: string; subject: string; issuer: string; notBefore: string; notAfter: string } | null;
    explanation: string;
  };
  anchor: { seq: number; hash: string; ok: boolean } | null;
  /** The head the last append recorded (audit/head.json), null when there is none (a problem when the log has entries). */
  recordedHead: { seq: number; hash: string } | null;
}

function describe(c: x509.X509Certificate) {
  return { serial: c.serialNumber, subject: c.subject, issuer: c.issuer, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString() };
}

export async function verifyAudit(stateDir: string, trust: AuditTrust = {}): Promise<AuditVerification> {
  const { complete, torn } = await readLogText(stateDir);
  const problems: AuditProblem[] = [];

  // The key the log claims (its first entry) and the certificate(s) the issuer gave that key.
  const firstLine = complete.slice(0, complete.indexOf('\n'));
  const init = firstLine ? parseEntryLine(firstLine) : null;
  const claim = init && init.event === 'audit.init' ? ((init.data as { details?: { keyId?: unknown; publicKey?: unknown } }).details ?? {}) : {};
  const claimedKeyId = typeof claim.keyId === 'string' ? claim.keyId : null;
  const certs = await readAuditCertificates(stateDir);
  const matching: x509.X509Certificate[] = [];
  for (const c of certs) if (claimedKeyId === null || spkiFingerprint(c.publicKey) === claimedKeyId) matching.push(c);

  let certificate: x509.X509Certificate | null = null;
  let certified = false;
  let explanation: string;
  if (matching.length === 0) {
    explanation = certs.length ? 'no certificate in audit/signing-cert.pem is for the key that signed this log' : 'the audit key has no certificate from the issuer yet (nixca issuer install or nixca serve issues one)';
  } else if (!trust.intermediates?.length) {
    certificate = matching.at(-1)!;
    explanation = 'no intermediate certificate to check the audit certificate against';
  } else {
    explanation = 'no audit certificate is signed by the intermediate';
    for (const c of [...matching].reverse()) {
      const inter = await (async () => {
        for (const i of trust.intermediates!) if (await signedBy(c, i)) return i;
        return undefined;
      })();
      if (!inter) continue;
      certificate = c;
      if (trust.root && !(await signedBy(inter, trust.root))) {
        explanation = `the intermediate "${inter.subject}" that certified the audit key is not signed by the root "${trust.root.subject}"`;
        continue;
      }
      certified = true;
      explanation = trust.root ? `certified by "${inter.subject}", which chains to "${trust.root.subject}"` : `certified by "${inter.subject}" (root not checked)`;
      break;
    }
    if (!certificate) certificate = matching.at(-1)!;
  }

  // The verifying key: the certified one when there is a certificate, else (uncertified) the claim.
  let key: CryptoKey | null = null;
  if (certificate) key = await certificate.publicKey.export();
  else if (typeof claim.publicKey === 'string') key = await importSpkiP256(claim.publicKey).catch(() => null);
  if (!certified) problems.push({ seq: null, line: null, reason: explanation });

  let head: AuditVerification['head'] = null;
  let entries = 0;
  let anchor: AuditVerification['anchor'] = null;
  let recordedHead: { seq: number; hash: string } | null = null;
  if (!key) {
    problems.push({ seq: 0, line: 1, reason: 'the first entry is not a readable audit.init entry and no certificate names the signing key' });
  } else {
    const v = await verifyLog(complete, key);
    entries = v.count;
    for (const pr of v.problems) problems.push({ seq: pr.line > 0 ? pr.line - 1 : 0, line: pr.line || null, reason: pr.reason });
    if (!init || init.event !== 'audit.init') problems.push({ seq: 0, line: 1, reason: 'the log does not start with its audit.init entry (its beginning was removed or replaced)' });
    const last = v.entries.at(-1);
    if (last) head = { seq: last.seq, hash: entryHash(last) };
    const hashes = new Map(v.entries.map((e) => [e.seq, e]));
    const audited = auditedSubjects(v.entries);
    // undefined: head.json is there but damaged (reported here, not again as missing).
    const recorded = await readAuditHead(stateDir).catch((err: Error) => {
      problems.push({ seq: null, line: null, reason: err.message });
      return undefined;
    });
    recordedHead = recorded ?? null;
    const hashOf = (seq: number) => {
      const e = hashes.get(seq);
      return e ? entryHash(e) : undefined;
    };
    problems.push(...endProblems({ entries: v.entries, hashOf }, torn, recorded, trust.store, audited));
    if (trust.anchor) {
      const at = v.entries.find((e) => e.seq === trust.anchor!.seq);
      const ok = !!at && entryHash(at) === trust.anchor.hash.toLowerCase();
      anchor = { ...trust.anchor, ok };
      if (!ok) {
        problems.push({
          seq: trust.anchor.seq,
          line: null,
          reason: at ? `entry ${trust.anchor.seq} differs from the anchored head (the log was rewritten)` : `anchored entry ${trust.anchor.seq} is missing (the log was truncated)`,
        });
      }
    }
  }
  const chainProblems = problems.filter((x) => x.seq !== null);
  const firstBadSeq = chainProblems.length ? Math.min(...chainProblems.map((x) => x.seq!)) : null;
  const blocking = problems.filter((x) => x.seq !== null || !trust.allowUncertified);
  return {
    ok: blocking.length === 0,
    entries,
    head,
    firstBadSeq,
    problems: problems.sort((a, b) => (a.seq ?? -1) - (b.seq ?? -1)),
    tornTail: torn ? { bytes: Buffer.byteLength(torn), afterSeq: head?.seq ?? null } : null,
    signer: { keyId: claimedKeyId, certified, certificate: certificate ? describe(certificate) : null, explanation },
    anchor,
    recordedHead,
  };
}

/**
 * The serials of the state directory's ACME store (read-only open, safe next to nixca serve), for
 * AuditTrust.store; undefined when the state has no ACME store.
 */
/** The serials the log records as issued and as revoked: what the store's records are checked against. */
export function auditedSubjects(entries: readonly { event: string; data: unknown }[]): { issued: Set<string>; revoked: Set<string> } {
  const audited = { issued: new Set<string>(), revoked: new Set<string>() };
  for (const e of entries) {
    const subject = (e.data as { subject?: unknown }).subject;
    if (typeof subject !== 'string') continue;
    if (e.event === 'certificate.issued') audited.issued.add(subject);
    else if (e.event === 'certificate.revoked') audited.revoked.add(subject);
  }
  return audited;
}

export async function auditedStoreSerials(stateDir: string): Promise<AuditTrust['store']> {
  const { ACME_DIR, openAcmeStore } = await import('../store/acme.js');
  if (!(await stat(join(stateDir, ACME_DIR)).then(() => true, () => false))) return undefined;
  const store = await openAcmeStore(stateDir, { readOnly: true });
  try {
    return { certificates: (await store.listCertificates()).map((c) => c.serial), revocations: (await store.listRevocations()).map((r) => r.serial) };
  } finally {
    await store.close();
  }
}

/** Parses `SEQ:HASH` as printed by `nixca audit head`. */
export function parseAnchor(text: string): { seq: number; hash: string } {
  const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(text.trim());
  if (!m) throw new AuditError('AUDIT_ANCHOR_INVALID', `--anchor must be SEQ:SHA256HEX as printed by nixca audit head, got ${JSON.stringify(text)}`);
  return { seq: Number(m[1]), hash: m[2]!.toLowerCase() };
}
