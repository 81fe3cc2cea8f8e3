// The shared audit chain against a real throw-away cluster: two instances (two pools, two audit
// keys) append to one chain under the database lock, inside the transaction of what each entry
// records; a refused entry rolls its record back (fail closed); `audit verify --store` checks the
// chain and names the entry that breaks (edits, truncation, records without entries, signers
// without certificates); start-up recovery; retention.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord } from '../../src/acme/model.js';
import { transactionalAuditTrail } from '../../src/audit/acme-events.js';
import { auditSignerOf, certifyAuditKey } from '../../src/audit/certify.js';
import { recoverSharedAuditEntries } from '../../src/audit/recover.js';
import { verifySharedAudit } from '../../src/audit/verify-shared.js';
import { openPgStore, type PgAuditChain, type PgStore } from '../../src/store/pg/index.js';
import { importAuditChain, inTransaction } from '../../src/store/pg/audit.js';
import { appendAudit, auditPaths, loadOrCreateAuditKey } from '../../src/audit/log.js';
import { auditInitDetails } from '../../src/audit/entry.js';
import { startTestCluster, type TestCluster, migratedDatabase } from './cluster.js';
import { testPki, type TestPki } from '../audit/pki.js';
import { runCli } from '../helpers/cli.js';
import { base64url } from 'jose';
import { appRig } from '../acme/helpers/app.js';
import { testCsr } from '../acme/helpers/client.js';
import { NODE_A } from '../acme/helpers/deps.js';

const t = new Date('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(t.getTime() + ms).toISOString();
const account = (id: string): AccountRecord => ({ id, status: 'valid', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x' }, thumbprint: 'tp-' + id, contact: [], node: 'nuc-1', eabKeyId: 'k', externalAccountBinding: null, createdAt: iso(0), updatedAt: iso(0) });
const authz = (id: string, expires = iso(3_600_000)): AuthorizationRecord => ({ id, accountId: 'a1', identifier: { type: 'dns', value: 'cache.nuc-1.test' }, expires, challenges: [{ id: 'c-' + id, type: 'http-01', token: 't', status: 'pending' }], createdAt: iso(0) });
const order = (id: string, expires = iso(3_600_000)): OrderRecord => ({ id, accountId: 'a1', identifiers: [{ type: 'dns', value: 'cache.nuc-1.test' }], authorizationIds: ['z-' + id], expires, createdAt: iso(0) });
const cert = (serial: string, orderId: string): CertificateRecord => ({ serial, accountId: 'a1', node: 'nuc-1', names: ['cache.nuc-1.test'], notBefore: iso(0), notAfter: iso(7 * 86_400_000), orderId, issuedAt: iso(0), spkiSha256: 'ab' });

describe('the shared audit chain (PostgreSQL)', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let pki: TestPki;
  let n = 0;
  const cleanup: (() => Promise<unknown>)[] = [];
  before(async () => {
    [cluster, pki] = await Promise.all([startTestCluster(), testPki()]);
  });
  after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    await cluster?.destroy();
  });

  /** A state directory whose audit key the intermediate certified (as `nixca serve` does at start). */
  async function stateDir(certified = true): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'nixca-pgaudit-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    if (certified) await certifyAuditKey(dir, pki.intermediate);
    return dir;
  }

  /** A migrated database and one instance per state directory: its store and its chain. */
  async function fresh(dirs: string[]): Promise<{ db: string; url: string; inst: { store: PgStore; chain: PgAuditChain; dir: string }[] }> {
    const db = `audit_${++n}`;
    const url = await migratedDatabase(cluster, db);
    const inst = [];
    for (const dir of dirs) {
      const store = await openPgStore({ url }, { now: () => t, listen: false });
      cleanup.push(() => store.close());
      const chain = await store.audit.chain(await auditSignerOf(dir, [pki.intermediate.certificate]));
      await chain.register();
      inst.push({ store, chain, dir });
    }
    await inst[0]?.store.acme.createAccount(account('a1'));
    return { db, url, inst };
  }
  const trust = () => ({ intermediates: [pki.intermediate.certificate], root: pki.root });
  const issue = async (i: { store: PgStore; chain: PgAuditChain }, serial: string) => {
    const o = order('o-' + serial);
    await i.store.acme.createOrder(o, [authz('z-' + o.id)]);
    const c = cert(serial, o.id);
    await i.store.acme.putCertificate(c, 'PEM', () => transactionalAuditTrail(i.chain).certificateIssued(c));
  };

  it('two instances append to one chain inside the transactions of what they record; verify passes', async () => {
    const { url, inst: [a, b] } = await fresh([await stateDir(), await stateDir()]);
    // Concurrent issuances through both instances serialize on the head row: one chain, no fork.
    await Promise.all(Array.from({ length: 24 }, (_, i) => issue(i % 2 ? a! : b!, (0xa00 + i).toString(16))));
    const rev = { serial: 'a00', reason: 1, revokedAt: iso(5), by: 'operator' };
    await b!.store.acme.putRevocation(rev, async () => transactionalAuditTrail(b!.chain).certificateRevoked(rev, cert('a00', 'o-a00')));
    // An inventory change and its entry commit together (src/ops appends inside the update).
    await a!.store.inventory.update(async () => void (await a!.chain.append([{ type: 'node.added', subject: 'nuc-9', node: 'nuc-9' }])));
    const snap = await a!.store.audit.snapshot();
    assert.deepEqual(snap.rows.map((r) => r.seq), Array.from({ length: 27 }, (_, i) => i));
    assert.equal(snap.head?.seq, 26);
    assert.deepEqual(new Set(snap.rows.map((r) => r.keyId)), new Set([a!.chain.keyId, b!.chain.keyId]));
    const v = await verifySharedAudit(snap, trust());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.deepEqual(v.signers.map((s) => s.certified), [true, true]);
    assert.deepEqual(await a!.store.audit.missing(), { certificates: [], revocations: [] });
    await a!.chain.check();

    // The CLI: exit 0 with --store and with NIXCA_STORE; no root or intermediate: not certified (1).
    const ok = await runCli(['audit', 'verify', '--store', url, '--root', await pemFile(pki.root), '--intermediate', await pemFile(pki.intermediate.certificate), '--state', a!.dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: 27 entries, head 26:[0-9a-f]{64}/);
    const env = await runCli(['audit', 'verify', '--state', await stateDir(false), '--root', await pemFile(pki.root)], { env: { NIXCA_STORE: url } });
    assert.equal(env.code, 0, env.stderr + env.stdout);
    const bare = await runCli(['audit', 'verify', '--state', await stateDir(false)], { env: { NIXCA_STORE: url } });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /not verified: signer .*no intermediate/);
    const show = await runCli(['audit', 'show', '--store', url, '--type', 'certificate.revoked', '--json', '--state', a!.dir]);
    assert.deepEqual(JSON.parse(show.stdout).map((r: { subject: string }) => r.subject), ['a00']);
  });

  it('an issuance whose instance knows the head is one statement (no transaction); a head moved by another instance is followed, a cut-off one is not', async () => {
    const { db, inst: [a, b] } = await fresh([await stateDir(), await stateDir()]);
    // What instance A sends: statement names on its pool, and transactions (each checks out a
    // connection with pool.connect(); pool.query checks one out with a callback).
    const pool = a!.store.pool.pool;
    const names: string[] = [];
    let transactions = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
    Object.assign(pool, {
      query: (...args: unknown[]) => (names.push((args[0] as { name?: string }).name ?? String(args[0])), query(...args)),
      connect: (...args: unknown[]) => (args.length === 0 && transactions++, connect(...args)),
    });
    await issue(a!, 'e01'); // the head is not known yet: the transaction, which locks and reads it
    assert.equal(transactions, 1);
    await issue(a!, 'e02');
    assert.equal(transactions, 1, 'no transaction');
    assert.deepEqual(names.filter((x) => x.startsWith('cert-')), ['cert-insert-audited']);
    await issue(b!, 'e03'); // moves the head A knows
    names.length = 0;
    await issue(a!, 'e04');
    assert.equal(transactions, 1);
    assert.deepEqual(names.filter((x) => x.startsWith('cert-')), ['cert-insert-audited', 'cert-insert-audited'], 'refused over the old head, written over the head it returned');
    const snap = await a!.store.audit.snapshot();
    assert.deepEqual(snap.rows.map((r) => JSON.parse(r.entry).data.subject), ['audit', 'e01', 'e02', 'e03', 'e04']);
    assert.equal((await verifySharedAudit(snap, trust())).ok, true);
    // The head's entry removed behind A's back: the one statement writes nothing and the
    // transaction refuses the chain (fail closed), whatever A believed the head to be.
    await cluster.sql(db, 'ALTER TABLE audit_entries DISABLE TRIGGER USER');
    await cluster.sql(db, 'DELETE FROM audit_entries WHERE seq = 4');
    await assert.rejects(issue(a!, 'e05'), /does not match its entry/);
    assert.equal(await a!.store.acme.getCertificate('e05'), undefined);
    assert.equal((await a!.store.audit.snapshot()).head?.seq, 4);
  });

  async function pemFile(c: { toString(f: 'pem'): string }): Promise<string> {
    const { writeFile } = await import('node:fs/promises');
    const dir = await stateDir(false);
    const f = join(dir, 'c.pem');
    await writeFile(f, c.toString('pem'));
    return f;
  }

  it('fails closed: a refused audit row rolls the certificate back, /health check fails until it is writable', async () => {
    const { db, inst: [a] } = await fresh([await stateDir()]);
    await issue(a!, 'b01');
    await cluster.sql(db, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse()`);
    await assert.rejects(issue(a!, 'b02'), /disk full/);
    assert.equal(await a!.store.acme.getCertificate('b02'), undefined, 'no certificate without its entry');
    assert.equal((await a!.store.acme.getOrder('o-b02'))?.certificateSerial, undefined);
    await assert.rejects(a!.store.acme.putRevocation({ serial: 'b01', reason: 1, revokedAt: iso(1), by: 'x' }, () => transactionalAuditTrail(a!.chain).certificateRevoked({ serial: 'b01', reason: 1, revokedAt: iso(1), by: 'x' }, cert('b01', 'o-b01'))), /disk full/);
    assert.equal(await a!.store.acme.getRevocation('b01'), undefined);
    await assert.rejects(a!.store.inventory.update(async () => void (await a!.chain.append([{ type: 'node.added', subject: 'x', node: 'x' }]))), /disk full/);
    assert.deepEqual((await a!.store.inventory.read()).nodes, []);
    await assert.rejects(a!.chain.check(), /disk full/);
    await cluster.sql(db, 'DROP TRIGGER refuse ON audit_entries');
    await a!.chain.check();
    await issue(a!, 'b03');
    const v = await verifySharedAudit(await a!.store.audit.snapshot(), trust());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.entries, 3, 'init, b01, b03: the probe and the refused entries left nothing');
  });

  it('through ACME: a refused entry is serverInternal and nothing is committed; /health is 503 until the chain takes entries again', async (t) => {
    const { db, inst: [a] } = await fresh([await stateDir()]);
    const { client: c, health } = await appRig({ store: a!.store.acme, audit: transactionalAuditTrail(a!.chain) }, { t, accounts: 1 });
    const first = await c.issue([NODE_A.dns[0]!]);
    assert.deepEqual(await health(), { status: 200, audit: { ok: true } });
    const rows = async (table: string) => Number((await cluster.sql<{ n: string }>(db, `SELECT count(*) AS n FROM ${table}`))[0]!.n);
    await cluster.sql(db, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit tablespace full (test)'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse()`);
    const { url, body } = await c.readyOrder([NODE_A.dns[0]!]);
    const { der } = await testCsr([NODE_A.dns[0]!]);
    const fin = await c.post(body.finalize as string, { csr: base64url.encode(der) });
    assert.equal(fin.status, 500);
    assert.equal(fin.json().type, 'urn:ietf:params:acme:error:serverInternal');
    const order = (await c.post(url, '')).json();
    assert.notEqual(order.status, 'valid');
    assert.equal(order.certificate, undefined);
    assert.equal(await rows('certificates'), 1, 'the refused certificate was rolled back');
    const der0 = first.chainPem.split('-----END CERTIFICATE-----')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, '');
    const rev = await c.post(c.directory.revokeCert!, { certificate: base64url.encode(Buffer.from(der0, 'base64')), reason: 1 });
    assert.equal(rev.status, 500);
    assert.equal(await rows('revocations'), 0, 'the refused revocation was rolled back (not on any CRL)');
    const h = await health();
    assert.equal(h.status, 503);
    assert.match(h.audit!.detail!, /audit tablespace full/);
    await cluster.sql(db, 'DROP TRIGGER refuse ON audit_entries');
    assert.deepEqual(await health(), { status: 200, audit: { ok: true } });
    await c.issue([NODE_A.dns[0]!]);
    assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(Buffer.from(der0, 'base64')), reason: 1 })).status, 200);
    const v = await verifySharedAudit(await a!.store.audit.snapshot(), trust());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.deepEqual(await a!.store.audit.missing(), { certificates: [], revocations: [] });
  });

  it('verify names the entry that breaks: an edit, entries cut off the end, a record without its entry, an uncertified signer', async () => {
    const { db, inst: [a, b] } = await fresh([await stateDir(), await stateDir(false)]);
    for (let i = 0; i < 6; i++) await issue(a!, (0xc00 + i).toString(16));
    const check = async (opts = {}) => verifySharedAudit(await a!.store.audit.snapshot(), { ...trust(), ...opts });
    assert.equal((await check()).ok, true);
    // The trigger refuses changes made by mistake.
    await assert.rejects(cluster.sql(db, 'DELETE FROM audit_entries WHERE seq = 6'), /append-only/);
    await assert.rejects(cluster.sql(db, 'TRUNCATE audit_entries'), /append-only/);
    await cluster.sql(db, 'ALTER TABLE audit_entries DISABLE TRIGGER USER');
    // An edited entry (its details changed, columns left alone): its signature and the next prev break.
    await cluster.sql(db, `UPDATE audit_entries SET entry = replace(entry, 'cache.nuc-1.test', 'evil.test') WHERE seq = 3`);
    let v = await check();
    assert.equal(v.ok, false);
    assert.equal(v.firstBadSeq, 3);
    assert.match(v.problems.find((p) => p.seq === 3)!.reason, /signature does not verify/);
    // The next append refuses a head that no longer matches its entry? (seq 3 is not the head: appends go on.)
    await cluster.sql(db, `UPDATE audit_entries SET entry = replace(entry, 'evil.test', 'cache.nuc-1.test') WHERE seq = 3`);
    assert.equal((await check()).ok, true);
    // Entries cut off the end: the head row still names entry 6.
    await cluster.sql(db, 'DELETE FROM audit_entries WHERE seq >= 5');
    v = await check();
    assert.equal(v.ok, false);
    assert.equal(v.firstBadSeq, 5);
    assert.ok(v.problems.some((p) => /removed from its end/.test(p.reason)), JSON.stringify(v.problems));
    assert.ok(v.problems.some((p) => /certificate c05 is in the store but has no certificate.issued entry/.test(p.reason)));
    // And no instance appends to a chain whose head has lost its entry (fail closed).
    await assert.rejects(issue(a!, 'cff'), /does not match its entry/);
    const cli = await runCli(['audit', 'verify', '--store', cluster.socketUrl(db), '--state', a!.dir, '--root', await pemFile(pki.root)]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /audit log is broken at seq 5/);
    // Restored (the head moved back to the last entry kept); start-up recovery writes what is missing.
    await cluster.sql(db, `UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_entries WHERE seq = 4)`);
    const missing = await a!.store.audit.missing();
    assert.deepEqual(missing, { certificates: ['c04', 'c05'], revocations: [] });
    const rec = await recoverSharedAuditEntries(a!.store.acme, missing, (e) => a!.chain.append(e), t);
    assert.deepEqual(rec.certificates, ['c04', 'c05']);
    assert.equal((await check()).ok, true);
    // A signer whose key has no certificate: its entries are reported (or accepted, if asked to).
    await issue(b!, 'd01');
    v = await check();
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.seq === null && /has no audit certificate/.test(p.reason)), JSON.stringify(v.problems));
    assert.equal((await check({ allowUncertified: true })).ok, true);
  });

  it('db import: a file log copied into an empty chain stays verifiable byte for byte, and instances continue it', async () => {
    const old = await stateDir();
    await appendAudit(old, [{ type: 'node.added', subject: 'nuc-1', node: 'nuc-1' }, { type: 'node.removed', subject: 'nuc-1', node: 'nuc-1' }]);
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(auditPaths(old).log, 'utf8')).split('\n').filter(Boolean);
    const { db, url } = await fresh([]);
    const s = await openPgStore({ url }, { now: () => t, listen: false });
    cleanup.push(() => s.close());
    const init = await auditInitDetails((await loadOrCreateAuditKey(old)).keys.publicKey);
    const { certificates } = await auditSignerOf(old, [pki.intermediate.certificate]);
    const r = await inTransaction(s.pool.pool, (c) => importAuditChain(c, { lines, keyId: init.keyId, publicKey: init.publicKey, certificates }));
    assert.equal(r.entries, lines.length);
    assert.deepEqual((await cluster.sql<{ entry: string }>(db, 'SELECT entry FROM audit_entries ORDER BY seq')).map((x) => x.entry), lines);
    // A second import into a chain that has entries is refused.
    await assert.rejects(inTransaction(s.pool.pool, (c) => importAuditChain(c, { lines, keyId: init.keyId, publicKey: init.publicKey, certificates })), /only into an empty one/);
    const next = await s.audit.chain(await auditSignerOf(await stateDir(), [pki.intermediate.certificate]));
    await next.append([{ type: 'node.added', subject: 'nuc-2', node: 'nuc-2' }]);
    const v = await verifySharedAudit(await s.audit.snapshot(), trust());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.entries, lines.length + 1);
    assert.deepEqual(v.signers.map((x) => x.entries), [lines.length, 1]);
  });

  it('the CLI on the shared store: node add and cert revoke record their entries in the shared chain with the key of their --state', async () => {
    const dir = await stateDir();
    const { db, url, inst: [a] } = await fresh([await stateDir()]);
    await issue(a!, 'f001');
    const add = await runCli(['node', 'add', 'nuc-7', '--dns', 'cache.nuc-7.n3x.test', '--store', url, '--state', dir]);
    assert.equal(add.code, 0, add.stderr);
    const rev = await runCli(['cert', 'revoke', 'f001', '--reason', 'keyCompromise', '--store', url, '--state', dir]);
    assert.equal(rev.code, 0, rev.stderr);
    const rows = await cluster.sql<{ event: string; subject: string; key_id: string }>(db, "SELECT event, subject, key_id FROM audit_entries WHERE event IN ('node.added', 'certificate.revoked') ORDER BY seq");
    const { keys } = await loadOrCreateAuditKey(dir);
    const cliKey = (await auditInitDetails(keys.publicKey)).keyId;
    assert.deepEqual(rows, [{ event: 'node.added', subject: 'nuc-7', key_id: cliKey }, { event: 'certificate.revoked', subject: 'f001', key_id: cliKey }]);
    const v = await verifySharedAudit(await a!.store.audit.snapshot(), trust());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
  });

  it('the CLI on the shared store fails closed: a refused audit row means no revocation and no inventory change (exit 7, one line); once rows are accepted both land in the same chain', async () => {
    const dir = await stateDir();
    const { db, url, inst: [a] } = await fresh([await stateDir()]);
    await issue(a!, 'f101');
    const S = ['--store', url, '--state', dir];
    // Refuses only the operator's entries, so the chain stays appendable for everything else.
    await cluster.sql(db, `CREATE FUNCTION refuse_ops() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.event IN ('certificate.revoked', 'node.added') THEN RAISE EXCEPTION 'audit storage refused (test)'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_ops BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_ops()`);
    const rev = await runCli(['cert', 'revoke', 'f101', '--reason', 'keyCompromise', ...S]);
    assert.equal(rev.code, 7, rev.stderr);
    assert.equal(rev.stderr.trim().split('\n').length, 1, rev.stderr);
    assert.match(rev.stderr, /certificate f101 was not revoked: the audit log refused its entry: .*audit storage refused \(test\)$/m);
    assert.deepEqual(await cluster.sql(db, 'SELECT serial FROM revocations'), [], 'no revocation without its entry');
    const add = await runCli(['node', 'add', 'nuc-8', '--dns', 'cache.nuc-8.n3x.test', ...S]);
    assert.equal(add.code, 7, add.stderr);
    assert.equal(add.stderr.trim().split('\n').length, 1, add.stderr);
    assert.match(add.stderr, /the shared audit chain refused the entry: audit storage refused \(test\)$/m);
    assert.equal((await a!.store.inventory.read()).nodes.some((x) => x.name === 'nuc-8'), false, 'no inventory change without its entry');
    const headBefore = await cluster.sql<{ seq: string }>(db, 'SELECT seq FROM audit_head');

    await cluster.sql(db, 'DROP TRIGGER refuse_ops ON audit_entries');
    assert.equal((await runCli(['cert', 'revoke', 'f101', '--reason', 'keyCompromise', ...S])).code, 0);
    assert.equal((await runCli(['node', 'add', 'nuc-8', '--dns', 'cache.nuc-8.n3x.test', ...S])).code, 0);
    const rows = await cluster.sql<{ seq: string; event: string; subject: string }>(db, "SELECT seq, event, subject FROM audit_entries WHERE event IN ('certificate.revoked', 'node.added') ORDER BY seq");
    assert.deepEqual(rows.map((r) => [Number(r.seq), r.event, r.subject]), [[Number(headBefore[0]!.seq) + 1, 'certificate.revoked', 'f101'], [Number(headBefore[0]!.seq) + 2, 'node.added', 'nuc-8']]);
    assert.equal((await cluster.sql(db, 'SELECT serial FROM revocations')).length, 1);
    const v = await verifySharedAudit(await a!.store.audit.snapshot(), trust());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
  });

  it('retention: expired orders, authorizations, replay-table nonces and silent instances go; certificates, revocations and the chain stay', async () => {
    const { db, inst: [a] } = await fresh([await stateDir()]);
    await issue(a!, 'e01');
    const o = order('short', iso(1000));
    await a!.store.acme.createOrder(o, [authz('z-short', iso(1000))]);
    // As an instance of the previous release writes it during a rolling upgrade.
    await cluster.sql(db, 'INSERT INTO nonces_used (nonce, expires) VALUES ($1, $2)', ['n1', new Date(t.getTime() + 1000)]);
    await a!.store.acme.checkWritable();
    await cluster.sql(db, `INSERT INTO instances (id, seen_at) VALUES ('gone', now() - interval '8 days')`);
    const later = new Date(t.getTime() + 7_200_000);
    assert.deepEqual(await a!.store.acme.prune(later), { orders: 2, authorizations: 2 });
    const count = async (table: string) => Number((await cluster.sql<{ n: string }>(db, `SELECT count(*) AS n FROM ${table}`))[0]!.n);
    assert.equal(await count('nonces_used'), 0);
    assert.deepEqual((await cluster.sql<{ id: string }>(db, 'SELECT id FROM instances')).length, 1, 'the instance seen 8 days ago is gone, this one stays');
    assert.equal(await count('certificates'), 1);
    assert.equal(await count('audit_entries'), 2);
    assert.equal((await verifySharedAudit(await a!.store.audit.snapshot(), trust())).ok, true);
  });
});
