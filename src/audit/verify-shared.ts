// `nixca audit verify --store`: the shared chain in PostgreSQL (docs/postgres.md "The audit chain").
// The same checks as the file log (verify.ts), with one signer per entry: every signature with the
// key its row names, every `prev` and `seq` (src/ca/chainlog.ts verifyLog), each signer's audit
// certificate up to the root, the head row (entries cut off the end), and every certificate and
// revocation of the store against its entry.
import { entryHash, verifyLog } from '../ca/chainlog.js';
import { spkiFingerprint } from '../ca/inspect.js';
import { x509 } from '../ca/x509.js';
import { signedBy } from './certify.js';
import { importSpkiP256, parseEntryLine } from './entry.js';
import { auditedSubjects, type AuditProblem, type AuditTrust, type AuditVerification } from './verify.js';

/** What the database holds (src/store/pg/audit.ts SharedAuditSnapshot), as plain data. */
export interface SharedAuditData {
  rows: { seq: number; keyId: string; hash: string; entry: string }[];
  head: { seq: number; hash: string } | null;
  signers: { keyId: string; publicKey: string; certificates: string }[];
  store: { certificates: string[]; revocations: string[] };
}

export interface SignerCheck {
  keyId: string;
  certified: boolean;
  entries: number;
  certificate: { serial: string; subject: string; issuer: string; notAfter: string } | null;
  explanation: string;
}

export type SharedAuditVerification = AuditVerification & { signers: SignerCheck[] };

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The key a signer row names, and whether an audit certificate for it chains to a trusted intermediate. */
async function checkSigner(s: SharedAuditData['signers'][number], trust: AuditTrust): Promise<{ key: CryptoKey | null } & Omit<SignerCheck, 'entries'>> {
  let certs: x509.X509Certificate[];
  try {
    certs = (s.certificates.match(PEM_BLOCK) ?? []).map((b) => new x509.X509Certificate(b));
  } catch (err) {
    return { keyId: s.keyId, key: null, certified: false, certificate: null, explanation: `its certificates are damaged: ${(err as Error).message}` };
  }
  const mine = certs.filter((c) => spkiFingerprint(c.publicKey) === s.keyId);
  // Intermediates stored next to the key count only if the root vouches for them; those the
  // verifier brings (--intermediate, STATE/issuer) are trusted as for the file log.
  const stored: x509.X509Certificate[] = [];
  if (trust.root) for (const c of certs) if (!mine.includes(c) && (await signedBy(c, trust.root))) stored.push(c);
  const trusted = [...(trust.intermediates ?? []), ...stored];
  for (const c of [...mine].reverse()) {
    for (const inter of trusted) {
      if (!(await signedBy(c, inter))) continue;
      if (trust.root && !(await signedBy(inter, trust.root))) continue;
      const certificate = { serial: c.serialNumber, subject: c.subject, issuer: c.issuer, notAfter: c.notAfter.toISOString() };
      const explanation = trust.root ? `certified by "${inter.subject}", which chains to "${trust.root.subject}"` : `certified by "${inter.subject}" (root not checked)`;
      return { keyId: s.keyId, key: await c.publicKey.export(), certified: true, certificate, explanation };
    }
  }
  // Uncertified: the row's own public key, if it is the key the row names (else nothing verifies).
  const claimed = await importSpkiP256(s.publicKey).catch(() => null);
  const claimedId = claimed ? spkiFingerprint(new x509.PublicKey(Buffer.from(s.publicKey, 'base64'))) : null;
  const explanation = !mine.length ? 'this key has no audit certificate from the issuer (nixca serve issues one at start)' : trusted.length ? 'no audit certificate for this key is signed by a trusted intermediate' : 'no intermediate to check its audit certificate against (give --intermediate or --root)';
  return { keyId: s.keyId, key: claimedId === s.keyId ? claimed : null, certified: false, certificate: null, explanation };
}

/** Row columns that must agree with the entry they index (an edited column is tampering too). */
function rowProblems(rows: SharedAuditData['rows']): AuditProblem[] {
  const out: AuditProblem[] = [];
  rows.forEach((r, i) => {
    const e = parseEntryLine(r.entry);
    if (e && (e.seq !== r.seq || entryHash(e) !== r.hash)) out.push({ seq: Math.min(r.seq, i), line: i + 1, reason: `row ${r.seq}: its seq/hash columns do not match its entry (the row was edited)` });
  });
  return out;
}

/** The head row against the chain's end, and the store's records against their entries. */
function endProblems(data: SharedAuditData, hashOf: (seq: number) => string | undefined, audited: { issued: Set<string>; revoked: Set<string> }): AuditProblem[] {
  const out: AuditProblem[] = [];
  const last = data.rows.at(-1)?.seq ?? null;
  const next = last === null ? 0 : last + 1;
  const h = data.head;
  if (h === null && last !== null) out.push({ seq: 0, line: null, reason: 'audit_head records no entry, but the chain has entries (the head row was reset)' });
  if (h) {
    const at = hashOf(h.seq);
    if (at === undefined) out.push({ seq: Math.min(h.seq, next), line: null, reason: `the chain ends at entry ${last ?? 'none'} but audit_head records entry ${h.seq}: entries were removed from its end` });
    else if (at !== h.hash) out.push({ seq: h.seq, line: null, reason: `entry ${h.seq} differs from the one audit_head records: the chain was rewritten` });
    else if (last !== null && last > h.seq) out.push({ seq: h.seq + 1, line: null, reason: `entries after ${h.seq} (up to ${last}) were added without moving audit_head: not appended by nixca` });
  }
  for (const s of data.store.certificates) if (!audited.issued.has(s)) out.push({ seq: next, line: null, reason: `certificate ${s} is in the store but has no certificate.issued entry` });
  for (const s of data.store.revocations) if (!audited.revoked.has(s)) out.push({ seq: next, line: null, reason: `revocation of ${s} is in the store but has no certificate.revoked entry` });
  return out;
}

export async function verifySharedAudit(data: SharedAuditData, trust: AuditTrust = {}): Promise<SharedAuditVerification> {
  const problems: AuditProblem[] = [];
  const signers = new Map<string, Awaited<ReturnType<typeof checkSigner>> & { entries: number }>();
  for (const s of data.signers) signers.set(s.keyId, { ...(await checkSigner(s, trust)), entries: 0 });
  for (const r of data.rows) {
    const s = signers.get(r.keyId);
    if (s) s.entries++;
  }
  for (const s of signers.values()) if (s.entries && !s.certified) problems.push({ seq: null, line: null, reason: `signer ${s.keyId.slice(0, 16)}… (${s.entries} entries): ${s.explanation}` });

  const text = data.rows.map((r) => r.entry + '\n').join('');
  const v = await verifyLog(text, (_e, i) => signers.get(data.rows[i]!.keyId)?.key ?? undefined);
  for (const pr of v.problems) {
    const row = pr.line > 0 ? data.rows[pr.line - 1] : undefined;
    const unknown = row && !signers.has(row.keyId) ? ` (its signer ${row.keyId.slice(0, 16)}… is not in audit_signers)` : '';
    problems.push({ seq: pr.line > 0 ? pr.line - 1 : 0, line: pr.line || null, reason: pr.reason + unknown });
  }
  problems.push(...rowProblems(data.rows));
  const first = v.entries[0];
  if (data.rows.length && (!first || first.seq !== 0 || first.event !== 'audit.init')) problems.push({ seq: 0, line: 1, reason: 'the chain does not start with its audit.init entry (its beginning was removed or replaced)' });
  const bySeq = new Map(v.entries.map((e) => [e.seq, e]));
  const hashOf = (seq: number) => {
    const e = bySeq.get(seq);
    return e ? entryHash(e) : undefined;
  };
  const audited = auditedSubjects(v.entries);
  problems.push(...endProblems(data, hashOf, audited));
  let anchor: AuditVerification['anchor'] = null;
  if (trust.anchor) {
    const ok = hashOf(trust.anchor.seq) === trust.anchor.hash.toLowerCase();
    anchor = { ...trust.anchor, ok };
    if (!ok) problems.push({ seq: trust.anchor.seq, line: null, reason: bySeq.has(trust.anchor.seq) ? `entry ${trust.anchor.seq} differs from the anchored head (the chain was rewritten)` : `anchored entry ${trust.anchor.seq} is missing (the chain was truncated)` });
  }
  const last = v.entries.at(-1);
  const chain = problems.filter((x) => x.seq !== null);
  const firstBadSeq = chain.length ? Math.min(...chain.map((x) => x.seq!)) : null;
  const blocking = problems.filter((x) => x.seq !== null || !trust.allowUncertified);
  const list = [...signers.values()].map(({ key: _k, ...s }) => s);
  const allCertified = list.every((s) => s.certified || !s.entries);
  return {
    ok: blocking.length === 0,
    entries: data.rows.length,
    head: last ? { seq: last.seq, hash: entryHash(last) } : null,
    firstBadSeq,
    problems: problems.sort((a, b) => (a.seq ?? -1) - (b.seq ?? -1)),
    tornTail: null,
    signer: { keyId: null, certified: allCertified, certificate: null, explanation: `${list.filter((s) => s.entries).length} signer(s), ${allCertified ? 'each certified' : 'not all certified'}` },
    anchor,
    recordedHead: data.head,
    signers: list,
  };
}
