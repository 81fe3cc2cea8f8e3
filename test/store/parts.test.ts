// The parts of the file-backed ACME store, each on its own: the working set (indexes, pruning),
// compaction policy and rewrite, and the ledger's commit rule (durable, then the commit hook, then
// visible). src/store/acme.ts only composes them; test/acme/store.test.ts tests the whole.
import assert from 'node:assert/strict';
import { constants, readlinkSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuthorizationRecord, CertificateRecord, OrderRecord } from '../../src/acme/model.js';
import { Compactor, needsCompaction } from '../../src/store/acme-compaction.js';
import { Ledger, LedgerIndex, checkLedgerEntry, loadLedger } from '../../src/store/acme-ledger.js';
import { AppendLog, scanJsonLines } from '../../src/store/acme-log.js';
import { WorkingSet, checkWorkingEntry, loadWorkingSet } from '../../src/store/acme-working.js';
import { tempDir } from '../helpers/cli.js';

const T = new Date('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(T.getTime() + ms).toISOString();
const authz = (id: string, expires: string, valid = false): AuthorizationRecord => ({
  id, accountId: 'a1', identifier: { type: 'dns', value: 'x.test' }, expires, createdAt: iso(0),
  challenges: [{ id: 'c' + id, type: 'http-01', token: 't', status: valid ? 'valid' : 'pending' }],
});
const order = (id: string, authzIds: string[], expires: string, replacesSerial?: string): OrderRecord => ({
  id, accountId: 'a1', identifiers: [{ type: 'dns', value: 'x.test' }], authorizationIds: authzIds, expires, createdAt: iso(0), ...(replacesSerial ? { replacesSerial } : {}),
});
const cert = (serial: string): CertificateRecord => ({ serial, accountId: 'a1', node: 'n', names: ['x.test'], notBefore: iso(0), notAfter: iso(86_400_000), orderId: 'o-' + serial, issuedAt: iso(0), spkiSha256: 'ab' });

test('working set: indexes by account, replaced serial and reusable authorization; prune keeps what live orders need', () => {
  const w = new WorkingSet();
  w.putAuthz(authz('z1', iso(1000), true));
  w.putAuthz(authz('z2', iso(1000)));
  w.putOrder(order('o1', ['z1'], iso(5000), '0a'));
  w.putOrder(order('o2', ['z2'], iso(1000)));
  assert.deepEqual(w.orderIds('a1'), ['o1', 'o2']);
  assert.deepEqual(w.ordersReplacing('0a').map((o) => o.id), ['o1']);
  assert.equal(w.reusableAuthorization('a1', 'x.test', T)?.id, 'z1');
  // z1 expired but o1 (alive) names it: kept; o2 and z2 go.
  assert.deepEqual(w.prune(new Date(T.getTime() + 2000), 0), { orders: 1, authorizations: 1 });
  assert.deepEqual(w.orderIds('a1'), ['o1']);
  assert.ok(w.authzs.has('z1'));
  assert.deepEqual(w.prune(new Date(T.getTime() + 6000), 0), { orders: 1, authorizations: 1 });
  assert.deepEqual(w.ordersReplacing('0a'), []);
  assert.deepEqual(w.orderIds('a1'), []);
});

test('working set: entries are shape-checked when read back', async (t) => {
  assert.throws(() => checkWorkingEntry({ t: 'order', v: { id: 'o' } }), /incomplete working-set entry of type "order"/);
  assert.throws(() => checkWorkingEntry({ t: 'nonce' }), /unknown or incomplete/);
  const dir = await tempDir(t);
  const file = join(dir, 'working.jsonl');
  const log = await AppendLog.open(file, 0);
  await log.append(JSON.stringify({ t: 'authz', v: authz('z1', iso(1)) }));
  await log.append(JSON.stringify({ t: 'order', v: order('o1', ['z1'], iso(1)) }));
  await log.append(JSON.stringify({ t: 'order', v: { ...order('o1', ['z1'], iso(1)), certificateSerial: '01' } }));
  await log.close();
  const { set, size, torn } = await loadWorkingSet(file);
  assert.equal(set.lines, 3);
  assert.equal(set.orders.get('o1')?.certificateSerial, '01', 'the latest version wins');
  assert.equal(size, (await readFile(file)).length);
  assert.equal(torn, undefined);
});

test('append log: lines appended in the same tick share one synchronized write (O_DSYNC) and get their byte offsets; a failed write rejects its whole batch', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.jsonl');
  const probe = await open(file, 'w');
  const writes = t.mock.method(Object.getPrototypeOf(probe) as { write(): Promise<unknown> }, 'write');
  await probe.close();
  const log = await AppendLog.open(file, 0);
  // The kernel's view of the descriptor: every write is durable when it returns.
  const target = (fd: string) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'utf8' });
    } catch {
      return undefined; // the descriptor readdir itself used, closed since
    }
  };
  const fds = (await readdir('/proc/self/fd')).filter((fd) => target(fd) === file);
  assert.equal(fds.length, 1);
  const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(await readFile(`/proc/self/fdinfo/${fds[0]}`, 'utf8'))![1]!, 8);
  assert.equal(flags & constants.O_DSYNC, constants.O_DSYNC, 'opened O_DSYNC');
  assert.equal(flags & constants.O_APPEND, constants.O_APPEND);
  const lines = ['"a"', '"é€"', '{"x":1}'];
  const offsets = await Promise.all(lines.map((l) => log.append(l)));
  assert.equal(writes.mock.callCount(), 1, 'one write for the three lines');
  const bytes = await readFile(file);
  assert.deepEqual(offsets, [0, 4, 12]);
  assert.deepEqual(offsets.map((o, i) => bytes.subarray(o, o + Buffer.byteLength(lines[i]!) + 1).toString()), lines.map((l) => l + '\n'));
  assert.equal(await log.append('"b"'), bytes.length, 'the next line starts where the file ends');
  assert.equal(log.size, bytes.length + 4);
  assert.equal(writes.mock.callCount(), 2);
  await log.close();
  // /dev/full refuses every write with ENOSPC: each line of the batch is refused, none acknowledged.
  const full = await AppendLog.open('/dev/full', 0);
  const results = await Promise.allSettled([full.append('"x"'), full.append('"y"')]);
  assert.deepEqual(results.map((r) => r.status === 'rejected' && (r.reason as NodeJS.ErrnoException).code), ['ENOSPC', 'ENOSPC']);
  assert.equal(full.size, 0);
  await full.close();
});

test('compaction: policy, and a rewrite that keeps exactly the live versions', async (t) => {
  assert.equal(needsCompaction(999, 0), false);
  assert.equal(needsCompaction(1000, 0), true);
  assert.equal(needsCompaction(2999, 1000), false);
  const dir = await tempDir(t);
  const file = join(dir, 'working.jsonl');
  const log = await AppendLog.open(file, 0);
  const w = new WorkingSet();
  w.putOrder(order('o1', [], iso(1)));
  for (let i = 0; i < 1200; i++) {
    await log.append(JSON.stringify({ t: 'order', v: { ...order('o1', [], iso(1)), notAfter: iso(i) } }));
    w.lines++;
  }
  const meta = { data: { compactions: 0, lastCompactionAt: null as string | null }, writes: 0, async write() { this.writes++; } };
  await new Compactor(w, log, meta, () => T, false).maybe();
  assert.equal(meta.data.compactions, 0, 'a read-only view never compacts');
  await new Compactor(w, log, meta, () => T, true).maybe();
  assert.deepEqual({ compactions: meta.data.compactions, at: meta.data.lastCompactionAt, writes: meta.writes, lines: w.lines }, { compactions: 1, at: T.toISOString(), writes: 1, lines: 1 });
  await log.append(JSON.stringify({ t: 'authz', v: authz('z9', iso(1)) }));
  await log.close();
  const back: unknown[] = [];
  await scanJsonLines(file, (v) => back.push(v));
  assert.equal(back.length, 2, 'the live order, then what was appended after the rewrite');
});

test('ledger: the chains of recent issuances are served from memory, older ones from chains.pem; a withheld chain from neither', async (t) => {
  const dir = await tempDir(t);
  const files = { ledgerFile: join(dir, 'ledger.jsonl'), chainsFile: join(dir, 'chains.pem') };
  const l = new Ledger(new LedgerIndex(), { ...files, ledger: await AppendLog.open(files.ledgerFile, 0), chains: await AppendLog.open(files.chainsFile, 0) });
  const serials = Array.from({ length: 100 }, (_, i) => (i + 16).toString(16));
  for (const s of serials) await l.putCertificate(cert(s), `PEM of ${s}\n`);
  await assert.rejects(l.putCertificate(cert('ff'), 'PEM ff\n', async () => { throw new Error('audit'); }));
  const probe = await open(files.chainsFile, 'r');
  const reads = t.mock.method(Object.getPrototypeOf(probe) as { read(): Promise<unknown> }, 'read');
  await probe.close();
  assert.equal(await l.getCertificateChain(serials.at(-1)!), `PEM of ${serials.at(-1)}\n`);
  assert.equal(reads.mock.callCount(), 0, 'the newest chain is not read back');
  assert.equal(await l.getCertificateChain(serials[0]!), `PEM of ${serials[0]}\n`);
  assert.equal(reads.mock.callCount(), 1, 'the oldest one is');
  assert.equal(await l.getCertificateChain('ff'), undefined, 'withheld: not visible');
  await l.close();
});

test('ledger: a record is visible only after its commit hook succeeds; a failed hook withholds it but keeps its serial', async (t) => {
  assert.throws(() => checkLedgerEntry({ t: 'cert', v: cert('01'), chain: { offset: 0 } }), /incomplete ledger entry of type "cert"/);
  const dir = await tempDir(t);
  const files = { ledgerFile: join(dir, 'ledger.jsonl'), chainsFile: join(dir, 'chains.pem') };
  const open = async (index: LedgerIndex) => new Ledger(index, { ...files, ledger: await AppendLog.open(files.ledgerFile, 0), chains: await AppendLog.open(files.chainsFile, 0) });
  const l = await open(new LedgerIndex());
  const seen: string[] = [];
  await l.putCertificate(cert('01'), 'PEM1', async () => {
    seen.push(`hook sees visible=${(await l.getCertificate('01')) !== undefined}`);
  });
  assert.deepEqual(seen, ['hook sees visible=false']);
  assert.equal(await l.getCertificateChain('01'), 'PEM1');
  await assert.rejects(l.putCertificate(cert('02'), 'PEM2', async () => { throw new Error('audit log unwritable'); }), /audit log unwritable/);
  assert.equal(await l.getCertificate('02'), undefined, 'withheld');
  assert.equal(l.hasSerial('02'), true, 'but its serial is never reused');
  assert.deepEqual((await l.listCertificates()).map((c) => c.serial), ['01']);
  await assert.rejects(l.putRevocation({ serial: '01', reason: 1, revokedAt: iso(1), by: 'operator' }, async () => { throw new Error('audit'); }), /audit/);
  assert.equal(l.index.revocations.has('01'), false);
  await l.putRevocation({ serial: '01', reason: 1, revokedAt: iso(2), by: 'operator' }); // a retry
  await l.close();
  // Durable all the same: the next open sees both certificates (start-up recovery audits them).
  const { index } = await loadLedger(files.ledgerFile);
  assert.deepEqual([...index.certLoc.keys()].sort(), ['01', '02']);
  assert.equal(index.revocations.get('01')?.revokedAt, iso(2), 'the later revocation line wins');
  index.checkChains(files.ledgerFile, files.chainsFile, 9);
  assert.throws(() => index.checkChains(files.ledgerFile, files.chainsFile, 8), /certificate 02 references bytes 5\.\.9/);
});
