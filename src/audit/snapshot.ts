// The embedded audit log (audit/log.jsonl) as `nixca db import` moves it: verified first (every
// signature and link, its recorded head, an entry for every certificate and revocation of the
// store being moved), then handed over line by line, unchanged, with the key that signed it and
// that key's certificates. The lines keep their seq, prev and signatures, so the chain in the
// database is the same chain, with the same head.
import { readFile } from 'node:fs/promises';
import { AuditError } from './errors.js';
import { auditPaths, parseEntryLine, toRecord } from './entry.js';
import { readLogText } from './log.js';
import { verifyAudit, type AuditTrust } from './verify.js';

export interface AuditSnapshot {
  signer: { keyId: string; publicKey: string; certificates: string };
  entries: { seq: number; event: string; subject: string; node: string | null; time: string; hash: string; line: string }[];
  head: { seq: number; hash: string };
}

export async function readAuditSnapshot(stateDir: string, trust: Pick<AuditTrust, 'intermediates' | 'root' | 'store'> & { intermediatePem?: string }): Promise<AuditSnapshot> {
  const v = await verifyAudit(stateDir, { ...trust, allowUncertified: true });
  if (!v.ok || !v.head) {
    const p = v.problems.find((x) => x.seq !== null) ?? v.problems[0];
    throw new AuditError('AUDIT_DAMAGED', `the audit log of ${stateDir} does not verify${p ? ` (${p.seq === null ? 'signer' : `seq ${p.seq}`}: ${p.reason})` : ''}: nothing imported; see nixca audit verify --state ${stateDir}`);
  }
  const { complete } = await readLogText(stateDir);
  const lines = complete.split('\n').filter((l) => l !== '');
  const entries = lines.map((line) => {
    const r = toRecord(parseEntryLine(line)!);
    return { seq: r.seq, event: r.type, subject: r.subject, node: r.node, time: r.time, hash: r.hash, line };
  });
  const init = parseEntryLine(lines[0]!)!.data as { details?: { keyId?: unknown; publicKey?: unknown } };
  const keyId = init.details?.keyId;
  const publicKey = init.details?.publicKey;
  if (typeof keyId !== 'string' || typeof publicKey !== 'string') throw new AuditError('AUDIT_DAMAGED', 'the audit log does not start with an audit.init entry naming its key: nothing imported');
  const certs = await readFile(auditPaths(stateDir).cert, 'utf8').catch(() => '');
  return { signer: { keyId, publicKey, certificates: certs + (trust.intermediatePem ?? '') }, entries, head: v.head };
}
