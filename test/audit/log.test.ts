import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { readFile, rename, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { certifyAuditKey } from '../../src/audit/certify.js';
import type { AuditError } from '../../src/audit/errors.js';
import { appendAudit, auditPaths, readAudit, type AuditEvent } from '../../src/audit/log.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { openssl, put } from '../ca/openssl.js';
import { tempDir } from '../helpers/cli.js';
import { holdLockInChild } from '../helpers/lock.js';
import { testPki, type TestPki } from './pki.js';

const ev = (i: number, node = 'nuc-1'): AuditEvent => ({ type: 'node.added', subject: node, node, details: { i, dnsNames: [`cache.${node}.n3x.test`] } });

let pkiP: Promise<TestPki> | undefined;
const pki = () => (pkiP ??= testPki());

async function certifiedLog(t: { after(fn: () => unknown): void }, n = 5): Promise<{ dir: string; trust: { intermediates: [TestPki['intermediate']['certificate']]; root: TestPki['root'] } }> {
  const dir = await tempDir(t);
  const p = await pki();
  for (let i = 1; i <= n; i++) await appendAudit(dir, ev(i));
  await certifyAuditKey(dir, p.intermediate);
  return { dir, trust: { intermediates: [p.intermediate.certificate], root: p.root } };
}

async function lines(dir: string): Promise<string[]> {
  return (await readFile(auditPaths(dir).log, 'utf8')).split('\n').filter(Boolean);
}
async function writeLines(dir: string, ls: string[]): Promise<void> {
  await writeFile(auditPaths(dir).log, ls.map((l) => l + '\n').join(''));
}

test('a fresh log starts with audit.init, chains every entry, and verifies with the certified key', async (t) => {
  const { dir, trust } = await certifiedLog(t, 3);
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  // init + 3 events + audit.certified
  assert.equal(v.entries, 5);
  assert.equal(v.signer.certified, true);
  const { records } = await readAudit(dir);
  assert.deepEqual(records.map((r) => r.type), ['audit.init', 'node.added', 'node.added', 'node.added', 'audit.certified']);
  assert.deepEqual(records.map((r) => r.seq), [0, 1, 2, 3, 4]);
  assert.equal(v.head!.hash, records.at(-1)!.hash);
  // The key is private; the log is created private too (umask-independent).
  assert.equal((await stat(auditPaths(dir).key)).mode & 0o777, 0o600);
  assert.equal((await stat(auditPaths(dir).log)).mode & 0o777, 0o600);
});

test('the audit certificate chains to the root with the real openssl, and is not a TLS server certificate', async (t) => {
  const { dir } = await certifiedLog(t, 1);
  const p = await pki();
  const rootF = await put(dir, 'root.pem', p.root.toString('pem'));
  const interF = await put(dir, 'inter.pem', p.intermediate.certificate.toString('pem'));
  const ok = await openssl(['verify', '-CAfile', rootF, '-untrusted', interF, auditPaths(dir).cert]);
  assert.equal(ok.code, 0, ok.stderr);
  const asServer = await openssl(['verify', '-purpose', 'sslserver', '-CAfile', rootF, '-untrusted', interF, auditPaths(dir).cert]);
  assert.notEqual(asServer.code, 0);
});

test('certifyAuditKey is idempotent while the certificate is good', async (t) => {
  const { dir } = await certifiedLog(t, 1);
  const again = await certifyAuditKey(dir, (await pki()).intermediate);
  assert.equal(again.issued, false);
  assert.equal((await readAudit(dir)).records.filter((r) => r.type === 'audit.certified').length, 1);
});

test('verify names the first bad seq of an edited entry', async (t) => {
  const { dir, trust } = await certifiedLog(t);
  const ls = await lines(dir);
  ls[2] = ls[2]!.replace('"i":2', '"i":9');
  await writeLines(dir, ls);
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, false);
  assert.equal(v.firstBadSeq, 2);
  assert.match(v.problems[0]!.reason, /signature/);
});

test('verify detects a removed entry in the middle', async (t) => {
  const { dir, trust } = await certifiedLog(t);
  const ls = await lines(dir);
  ls.splice(3, 1);
  await writeLines(dir, ls);
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, false);
  assert.equal(v.firstBadSeq, 3);
  assert.ok(v.problems.some((x) => /seq 4, expected 3/.test(x.reason)));
});

test('verify detects reordered entries', async (t) => {
  const { dir, trust } = await certifiedLog(t);
  const ls = await lines(dir);
  [ls[2], ls[3]] = [ls[3]!, ls[2]!];
  await writeLines(dir, ls);
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, false);
  assert.equal(v.firstBadSeq, 2);
});

test('verify detects an entry truncated in the middle of the log', async (t) => {
  const { dir, trust } = await certifiedLog(t);
  const ls = await lines(dir);
  ls[2] = ls[2]!.slice(0, 40);
  await writeLines(dir, ls);
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, false);
  assert.equal(v.firstBadSeq, 2);
  assert.match(v.problems[0]!.reason, /damaged|not JSON/);
});

test('a whole log re-signed with another key fails: the key is not the certified one', async (t) => {
  const { dir, trust } = await certifiedLog(t, 2);
  // An attacker with write access to the log but not the key file replaces everything with a log of their own.
  const other = await tempDir(t);
  for (let i = 1; i <= 2; i++) await appendAudit(other, ev(i, 'evil'));
  await writeFile(auditPaths(dir).log, await readFile(auditPaths(other).log));
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, false);
  assert.equal(v.signer.certified, false);
});

test('an anchored head detects truncation of the newest entries', async (t) => {
  const { dir, trust } = await certifiedLog(t, 4);
  const head = (await verifyAudit(dir, trust)).head!;
  const ls = await lines(dir);
  await writeLines(dir, ls.slice(0, -2));
  const plain = await verifyAudit(dir, trust);
  assert.equal(plain.ok, false, 'audit/head.json still names the removed newest entry');
  assert.match(plain.problems.map((p) => p.reason).join('\n'), /entries were removed from its end/);
  // head.json deleted with them: a log with entries and no head is reported too.
  await rm(auditPaths(dir).head);
  const headless = await verifyAudit(dir, trust);
  assert.equal(headless.ok, false, 'a deleted head.json is how a cut end would go unnoticed');
  assert.match(headless.problems.map((p) => p.reason).join('\n'), /audit\/head\.json is missing although the log has entries/);
  // head.json rewritten to match the cut log (someone who can write the state): only an anchor tells.
  const cutHead = headless.head!;
  await writeFile(auditPaths(dir).head, JSON.stringify(cutHead) + '\n');
  assert.equal((await verifyAudit(dir, trust)).ok, true, 'removing the log end and rewriting head.json to match is invisible without an anchor (documented)');
  const anchored = await verifyAudit(dir, { ...trust, anchor: head });
  assert.equal(anchored.ok, false);
  assert.equal(anchored.firstBadSeq, head.seq);
  assert.match(anchored.problems.at(-1)!.reason, /missing \(the log was truncated\)/);
});

test('an append refuses to overwrite head.json when the log ends before it or differs from it; a missing head is written again', async (t) => {
  const { dir, trust } = await certifiedLog(t, 4);
  const full = await lines(dir);
  const headText = await readFile(auditPaths(dir).head, 'utf8');
  const newest = (JSON.parse(headText) as { seq: number }).seq;
  assert.equal(newest, full.length - 1, "seq counts from 0");
  const appendRefused = async (why: RegExp) => {
    const before = await readFile(auditPaths(dir).log, 'utf8').catch(() => null);
    const headBefore = await readFile(auditPaths(dir).head, 'utf8');
    await assert.rejects(appendAudit(dir, ev(99)), (e: AuditError) => e.code === 'AUDIT_DAMAGED' && why.test(e.message) && /nothing was appended/.test(e.message));
    assert.equal(await readFile(auditPaths(dir).log, 'utf8').catch(() => null), before, 'the log is left as it was');
    assert.equal(await readFile(auditPaths(dir).head, 'utf8'), headBefore, 'so is the evidence');
  };
  // The newest two entries removed at a line boundary: the next append would have hidden it.
  await writeLines(dir, full.slice(0, -2));
  await appendRefused(new RegExp(`records entry ${newest} but the log ends at entry ${newest - 2}: entries were removed from its end`));
  // Another, validly signed entry at the newest seq (the log rewritten by someone holding the key file).
  await writeLines(dir, full.slice(0, -1));
  await rm(auditPaths(dir).head);
  await appendAudit(dir, ev(7));
  // Written back as another file (new inode), as an editor or a restore does: not the log this process left.
  await writeFile(auditPaths(dir).log + '.new', await readFile(auditPaths(dir).log));
  await rename(auditPaths(dir).log + '.new', auditPaths(dir).log);
  await writeFile(auditPaths(dir).head, headText);
  await appendRefused(new RegExp(`entry ${newest} of .* is not the one .*head\\.json records: the log was rewritten`));
  // The whole log removed while the head remains.
  await rm(auditPaths(dir).log);
  await appendRefused(new RegExp(`records entry ${newest} but the log ends before its first entry`));
  // A damaged head.json.
  await writeLines(dir, full);
  await writeFile(auditPaths(dir).head, '{"seq":');
  await appendRefused(/head\.json is damaged/);
  // The operator's way on (docs/operations.md): keep a copy, remove head.json; the append writes it again.
  await rm(auditPaths(dir).head);
  await appendAudit(dir, ev(5));
  assert.equal((await verifyAudit(dir, trust)).ok, true);
  // A head that lags behind the log (its write failed, a power loss) is not a problem.
  const lagging = await readFile(auditPaths(dir).head, 'utf8');
  await appendAudit(dir, ev(6));
  await writeFile(auditPaths(dir).head, lagging);
  // Written back as another file (new inode), so that the append checks the head instead of
  // trusting what this process appended last.
  await writeFile(auditPaths(dir).log + '.new', await readFile(auditPaths(dir).log));
  await rename(auditPaths(dir).log + '.new', auditPaths(dir).log);
  await appendAudit(dir, ev(7));
  assert.equal((await verifyAudit(dir, trust)).ok, true);
});

test('a torn last line is reported as a cut mid-line and the next append repairs and records it', async (t) => {
  const { dir, trust } = await certifiedLog(t, 2);
  const before = await verifyAudit(dir, trust);
  const torn = '{"data":{"details":{"i":3},"node":"nuc-1","subject":"nuc-1"},"event":"node.ad';
  await appendFile(auditPaths(dir).log, torn);
  const v = await verifyAudit(dir, trust);
  assert.equal(v.ok, false, 'a cut mid-line cannot be told from a truncation: reported, not excused');
  assert.match(v.problems.map((p) => p.reason).join('\n'), /the log is cut in the middle of an entry/);
  assert.deepEqual(v.tornTail, { bytes: torn.length, afterSeq: before.head!.seq });
  await appendAudit(dir, ev(4));
  const after = await verifyAudit(dir, trust);
  assert.equal(after.ok, true, JSON.stringify(after.problems));
  assert.equal(after.tornTail, null);
  const { records } = await readAudit(dir);
  const repaired = records.find((r) => r.type === 'audit.repaired')!;
  assert.equal(repaired.details.removedBytes, torn.length);
  assert.equal(repaired.details.fragment, torn);
  assert.equal(records.at(-1)!.details.i, 4);
});

test('appending refuses a damaged newest entry and a swapped key, and writes nothing', async (t) => {
  const { dir } = await certifiedLog(t, 2);
  const ls = await lines(dir);
  await writeLines(dir, [...ls.slice(0, -1), '{not json']);
  const before = await readFile(auditPaths(dir).log);
  await assert.rejects(appendAudit(dir, ev(9)), (e: AuditError) => e.code === 'AUDIT_DAMAGED' && e.kind === 'check');
  assert.deepEqual(await readFile(auditPaths(dir).log), before);

  const { dir: dir2 } = await certifiedLog(t, 1);
  const other = await tempDir(t);
  await appendAudit(other, ev(1));
  await writeFile(auditPaths(dir2).key, await readFile(auditPaths(other).key));
  await assert.rejects(appendAudit(dir2, ev(2)), (e: AuditError) => e.code === 'AUDIT_KEY_MISMATCH');
});

test('secrets are refused: EAB MAC keys and private keys never enter the log', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(appendAudit(dir, { type: 'node.eab-created', subject: 'n', details: { keyId: 'eab-1', macKey: 'c2VjcmV0' } }), (e: AuditError) => e.code === 'AUDIT_SECRET_REFUSED');
  await assert.rejects(
    appendAudit(dir, { type: 'signing-key.transition', subject: 'k', details: { nested: [{ note: '-----BEGIN PRIVATE KEY-----\nMII…' }] } }),
    (e: AuditError) => e.code === 'AUDIT_SECRET_REFUSED',
  );
  await assert.rejects(appendAudit(dir, { type: 'no.such' as 'node.added', subject: 'n' }), (e: AuditError) => e.code === 'AUDIT_EVENT_INVALID');
  // Nothing was written, not even the init entry.
  await assert.rejects(stat(auditPaths(dir).log));
});

const LOG_JS = resolve(fileURLToPath(import.meta.url), '../../../src/audit/log.js');

function appender(dir: string, tag: string, n: number): Promise<number> {
  const script = `const { appendAudit } = await import(${JSON.stringify(LOG_JS)});
for (let i = 0; i < ${n}; i++) await appendAudit(${JSON.stringify(dir)}, { type: 'node.renew-now', subject: ${JSON.stringify(tag)}, node: ${JSON.stringify(tag)}, details: { i } });`;
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', rej);
    c.on('close', (code) => res(code ?? -1));
  });
}

test('concurrent appenders in several processes never fork or interleave the chain', async (t) => {
  const dir = await tempDir(t);
  await appendAudit(dir, ev(0));
  const codes = await Promise.all([appender(dir, 'p1', 15), appender(dir, 'p2', 15), appender(dir, 'p3', 15)]);
  assert.deepEqual(codes, [0, 0, 0]);
  const v = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  assert.equal(v.entries, 2 + 45);
  const { records } = await readAudit(dir);
  for (const tag of ['p1', 'p2', 'p3']) {
    assert.deepEqual(records.filter((r) => r.subject === tag).map((r) => r.details.i), [...Array(15).keys()]);
  }
  // Uncertified logs are not accepted by default.
  assert.equal((await verifyAudit(dir)).ok, false);
  assert.equal(join(dir, 'audit', 'log.jsonl'), auditPaths(dir).log);
});

test('kill -9 in the middle of appending: the log still verifies, the stale lock is taken over, appends continue', async (t) => {
  const dir = await tempDir(t);
  await appendAudit(dir, ev(0));
  const script = `const { appendAudit } = await import(${JSON.stringify(LOG_JS)});
for (let i = 0; ; i++) await appendAudit(${JSON.stringify(dir)}, { type: 'node.renew-now', subject: 'k', node: 'k', details: { i, pad: 'x'.repeat(2000) } });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  // Let it write for a while, then kill it without warning, most likely while it holds the lock.
  for (let waited = 0; waited < 10_000; waited += 20) {
    const n = (await readFile(auditPaths(dir).log, 'utf8')).split('\n').length;
    if (n > 20) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const after = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(after.ok, true, JSON.stringify(after.problems));
  assert.ok(after.entries > 3, `only ${after.entries} entries were written before the kill`);
  const next = await appendAudit(dir, ev(99), { lockTimeoutMs: 5000 });
  assert.equal(next.at(-1)!.seq, after.head!.seq + 1 + (after.tornTail ? 1 : 0));
  const final = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(final.ok, true);
  assert.equal(final.tornTail, null);
});

test('an append waits for a live holder of the audit lock in another process, and a killed one blocks nothing', async (t) => {
  const dir = await tempDir(t);
  await appendAudit(dir, ev(1));
  // A lock file left behind (empty or naming a dead process) is no lock at all.
  await writeFile(auditPaths(dir).lock, '');
  await appendAudit(dir, ev(2), { lockTimeoutMs: 0 });
  const holder = await holdLockInChild(auditPaths(dir).lock);
  t.after(() => holder.stop('SIGKILL'));
  await assert.rejects(appendAudit(dir, ev(3), { lockTimeoutMs: 300 }), (e: AuditError) => e.code === 'AUDIT_LOCKED' && e.message.includes(`process ${holder.pid}`));
  await holder.stop('SIGKILL');
  await appendAudit(dir, ev(3), { lockTimeoutMs: 0 });
  assert.equal((await verifyAudit(dir, { allowUncertified: true })).entries, 4);
});

test('group commit: concurrent appends in one process share writes, yet each caller gets exactly its own entries', async (t) => {
  const dir = await tempDir(t);
  const results = await Promise.all(Array.from({ length: 25 }, (_, i) => appendAudit(dir, [ev(i, `n${i}`), ev(100 + i, `n${i}`)])));
  // The very first caller also gets the audit.init entry that preceded its own.
  assert.equal(results[0]![0]!.event, 'audit.init');
  results.forEach((entries, i) => {
    const own = entries.filter((e) => e.event !== 'audit.init');
    assert.deepEqual(own.map((e) => (e.data as { subject: string; details: { i: number } }).details.i), [i, 100 + i]);
    assert.ok(own.every((e) => (e.data as { subject: string }).subject === `n${i}`));
  });
  const v = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(v.ok, true);
  assert.equal(v.entries, 51);
  // A bad event fails only its own caller.
  const [bad, good] = await Promise.allSettled([appendAudit(dir, { type: 'node.added', subject: '' }), appendAudit(dir, ev(7))]);
  assert.equal(bad.status, 'rejected');
  assert.equal(good.status, 'fulfilled');
});

test('an append to a log this process wrote last goes to the thread pool only to change files and fsync (8 operations)', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 3; i++) await appendAudit(dir, ev(i));
  const ops: string[] = [];
  const hook = createHook({ init: (_id, type) => void (/^(FSREQ|FILEHANDLE)/.test(type) && ops.push(type)) });
  hook.enable();
  try {
    await appendAudit(dir, ev(3));
  } finally {
    hook.disable();
  }
  // Lock: PID, truncate; log: one synchronized write; head: open (create), write, fsync, rename; directory fsync.
  assert.equal(ops.length, 8, ops.join(' '));
  assert.equal((await verifyAudit(dir, { allowUncertified: true })).entries, 5);
});
