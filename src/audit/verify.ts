// `nixca audit verify`: the whole chain (src/ca/chainlog.ts verifyLog: every signature, every
// `prev`, every `seq`), with the key that the intermediate certified, that certificate up to the
// root, and optionally an externally anchored head (detects truncation of the newest entries).
import { entryHash, verifyLog } from '../ca/chainlog.js';
import type { x509 } from '../ca/x509.js';
import { spkiFingerprint } from '../ca/inspect.js';
import { readAuditCertificates, signedBy } from './certify.js';
import { AuditError } from './errors.js';
import { importSpkiP256, parseEntryLine, readLogText } from './log.js';

export interface AuditTrust {
  /** Candidate issuers of the audit certificate (the intermediate(s) of the state directory). */
  intermediates?: readonly x509.X509Certificate[];
  /** The root the intermediate must chain to. */
  root?: x509.X509Certificate;
  /** A head recorded elsewhere (`nixca audit head`): that entry must still be in the log, unchanged. */
  anchor?: { seq: number; hash: string };
  /** Accept a log whose key has no certificate yet (before `issuer install`). */
  allowUncertified?: boolean;
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
  /** An interrupted append (crash), not tampering: the next append truncates it and records that. */
  tornTail: { bytes: number; afterSeq: number | null } | null;
  signer: {
    keyId: string | null;
    certified: boolean;
    certificate: { serial: string; subject: string; issuer: string; notBefore: string; notAfter: string } | null;
    explanation: string;
  };
  anchor: { seq: number; hash: string; ok: boolean } | null;
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
  if (!key) {
    problems.push({ seq: 0, line: 1, reason: 'the first entry is not a readable audit.init entry and no certificate names the signing key' });
  } else {
    const v = await verifyLog(complete, key);
    entries = v.count;
    for (const pr of v.problems) problems.push({ seq: pr.line > 0 ? pr.line - 1 : 0, line: pr.line || null, reason: pr.reason });
    if (!init || init.event !== 'audit.init') problems.push({ seq: 0, line: 1, reason: 'the log does not start with its audit.init entry (its beginning was removed or replaced)' });
    const last = v.entries.at(-1);
    if (last) head = { seq: last.seq, hash: entryHash(last) };
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
  };
}

/** Parses `SEQ:HASH` as printed by `nixca audit head`. */
export function parseAnchor(text: string): { seq: number; hash: string } {
  const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(text.trim());
  if (!m) throw new AuditError('AUDIT_ANCHOR_INVALID', `--anchor must be SEQ:SHA256HEX as printed by nixca audit head, got ${JSON.stringify(text)}`);
  return { seq: Number(m[1]), hash: m[2]!.toLowerCase() };
}
