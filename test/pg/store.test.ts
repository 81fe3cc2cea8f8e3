// The PostgreSQL store against a real throw-away cluster: migrations (idempotent, concurrent,
// refused when unknown or altered), the ACME store's contract, and what the database enforces for
// several instances (one account per key, unique serials, one certificate per order, CRL numbers,
// revocations announced to every instance; nonces: test/pg/nonces.test.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { StoreConflictError } from '../../src/acme/store.js';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord } from '../../src/acme/model.js';
import { openPgStore, type PgStore } from '../../src/store/pg/index.js';
import { migrate, checkSchema } from '../../src/store/pg/migrate.js';
import { openPool, redactStoreUrl } from '../../src/store/pg/connect.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/pg/migrations.js';
import { startTestCluster, type TestCluster, migratedDatabase } from './cluster.js';
import { NIXCA_BIN, runCli } from '../helpers/cli.js';
import { watchConcurrentQueries } from './deprecations.js';

const concurrentQueries = watchConcurrentQueries();

const t = new Date('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(t.getTime() + ms).toISOString();
const account = (id: string, thumbprint = 'tp-' + id): AccountRecord => ({ id, status: 'valid', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x' }, thumbprint, contact: [], node: 'nuc-1', eabKeyId: 'k', externalAccountBinding: null, createdAt: iso(0), updatedAt: iso(0) });
const authz = (id: string, expires = iso(3_600_000)): AuthorizationRecord => ({ id, accountId: 'a1', identifier: { type: 'dns', value: 'cache.nuc-1.test' }, expires, challenges: [{ id: 'c-' + id, type: 'http-01', token: 't', status: 'pending' }], createdAt: iso(0) });
const order = (id: string, authzIds: string[], expires = iso(3_600_000)): OrderRecord => ({ id, accountId: 'a1', identifiers: [{ type: 'dns', value: 'cache.nuc-1.test' }], authorizationIds: authzIds, expires, createdAt: iso(0) });
const cert = (serial: string, orderId: string): CertificateRecord => ({ serial, accountId: 'a1', node: 'nuc-1', names: ['cache.nuc-1.test'], notBefore: iso(0), notAfter: iso(7 * 86_400_000), orderId, issuedAt: iso(0), spkiSha256: 'ab' });
const validated = (a: AuthorizationRecord): AuthorizationRecord => ({ ...a, challenges: a.challenges.map((c) => ({ ...c, status: 'valid' as const, validated: iso(1) })) });

describe('PostgreSQL store (src/store/pg)', () => {
  let cluster: TestCluster;
  let n = 0;
  const open: PgStore[] = [];
  /** A migrated database and `instances` store handles on it (each its own pool, as separate processes). */
  async function fresh(instances = 1): Promise<{ db: string; url: string; stores: PgStore[] }> {
    const db = `store_${++n}`;
    const url = await migratedDatabase(cluster, db);
    const stores: PgStore[] = [];
    for (let i = 0; i < instances; i++) stores.push(await openPgStore({ url }, { now: () => t }));
    open.push(...stores);
    return { db, url, stores };
  }
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    await cluster?.destroy();
  });

  it('migrate is idempotent, serializes concurrent runs, and serve refuses an unknown schema', async () => {
    const url = await cluster.createDatabase('migrations');
    const p = await openPool({ url });
    try {
      await assert.rejects(checkSchema(p.pool, 'DB'), /has no nixca schema: run `nixca db migrate --store DB`/);
      const [a, b] = await Promise.all([migrate(p.pool), migrate(p.pool)]);
      assert.deepEqual([a.applied.length + b.applied.length, a.to, b.to], [MIGRATIONS.length, SCHEMA_VERSION, SCHEMA_VERSION], 'exactly one of two concurrent runs applies each migration');
      assert.ok(a.applied.length === 0 || b.applied.length === 0, 'the runs serialize: one does everything');
      assert.deepEqual((await migrate(p.pool)).applied, [], 'a third run has nothing to do');
      assert.equal(await checkSchema(p.pool, 'DB'), SCHEMA_VERSION);
      await p.pool.query('INSERT INTO nixca_schema (version, name, checksum) VALUES ($1, $2, $3)', [SCHEMA_VERSION + 1, 'future', 'x']);
      await assert.rejects(checkSchema(p.pool, 'DB'), new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this nixca knows \\(${SCHEMA_VERSION}\\): upgrade nixca`));
      await assert.rejects(migrate(p.pool), /newer than this nixca knows/);
      await p.pool.query('DELETE FROM nixca_schema WHERE version = $1', [SCHEMA_VERSION + 1]);
      await p.pool.query("UPDATE nixca_schema SET checksum = 'altered' WHERE version = 1");
      await assert.rejects(checkSchema(p.pool, 'DB'), /differs from this nixca's: refusing/);
    } finally {
      await p.end();
    }
  });

  it('nixca db migrate / db status: idempotent, clear errors, exit codes', async () => {
    const url = await cluster.createDatabase('cli');
    const env = { PATH: process.env.PATH };
    const st0 = await runCli(['db', 'status', '--store', url], { env });
    assert.equal(st0.code, 5, st0.stderr);
    // The hint is a command to paste: the socket URL's `?` and `&` are quoted for the shell.
    const hint = /has no nixca schema: run `nixca (db migrate --store '[^`]+')` first/.exec(st0.stderr)?.[1];
    assert.ok(hint, st0.stderr);
    const m1 = spawnSync('sh', ['-c', `"${process.execPath}" "${NIXCA_BIN}" ${hint}`], { encoding: 'utf8', env });
    assert.equal(m1.status, 0, m1.stderr);
    assert.match(m1.stdout, new RegExp(`applied migration 1: [^\\n]*\\n(.*\\n)*schema is at version ${SCHEMA_VERSION}`));
    assert.equal((await runCli(['db', 'migrate', '--store', url], { env })).code, 0);
    const m2 = await runCli(['db', 'migrate', '--json'], { env: { ...env, NIXCA_STORE: url } });
    assert.deepEqual(JSON.parse(m2.stdout).applied, [], 'NIXCA_STORE selects the store; nothing left to do');
    const st = await runCli(['db', 'status', '--store', url, '--json'], { env });
    assert.equal(JSON.parse(st.stdout).schemaVersion, SCHEMA_VERSION);
    const bad = await runCli(['db', 'migrate', '--store', 'postgres://u:pw@127.0.0.1:1/x'], { env });
    assert.equal(bad.code, 2);
    assert.doesNotMatch(bad.stderr + bad.stdout, /pw@/);
    const down = await runCli(['db', 'migrate', '--store', `postgres://nixca@127.0.0.1:${cluster.port + 0}/nosuchdb`], { env });
    assert.equal(down.code, 7, down.stderr);
    assert.match(down.stderr, /cannot use the store postgres:\/\/nixca@127\.0\.0\.1:\d+\/nosuchdb: /);
  });

  it('connects over TCP with a password file; refuses a password in the URL and redacts URLs', async () => {
    const { db } = await fresh(0);
    await assert.rejects(openPgStore({ url: cluster.tcpUrl(db) }), /cannot use the store postgres:\/\/nixca@127\.0\.0\.1:\d+\/store_\d+: .*password/);
    const s = await openPgStore({ url: cluster.tcpUrl(db), passwordFile: cluster.passwordFile });
    open.push(s);
    await s.acme.checkWritable();
    const withPw = cluster.tcpUrl(db).replace('nixca@', 'nixca:secret@');
    await assert.rejects(openPgStore({ url: withPw }), (err: Error) => /must not carry a password/.test(err.message) && !err.message.includes('secret'));
    assert.equal(redactStoreUrl(withPw).includes('secret'), false);
    assert.match(redactStoreUrl(cluster.socketUrl('x') + '&sslkey=/k'), /^postgres:\/\/nixca@\/x\?host=.*&port=\d+$/);
  });

  it('keeps the ACME records, reconciles an order with its certificate, prunes the working set', async () => {
    const { stores: [s] } = await fresh();
    const acme = s!.acme;
    await acme.createAccount(account('a1'));
    await acme.updateAccount('a1', (a) => ({ ...a, contact: ['mailto:x@y.test'] }));
    await acme.createOrder(order('o1', ['z1']), [authz('z1')]);
    await acme.updateAuthorization('z1', validated);
    assert.equal((await acme.findReusableAuthorization('a1', 'cache.nuc-1.test', t))?.id, 'z1');
    await acme.putCertificate(cert('0a1b', 'o1'), 'CHAIN-PEM');
    // The certificate's statement made the order valid: no separate order write was needed.
    assert.equal((await acme.getOrder('o1'))?.certificateSerial, '0a1b');
    assert.equal(await acme.getCertificateChain('0a1b'), 'CHAIN-PEM');
    assert.deepEqual((await acme.getAccount('a1'))?.contact, ['mailto:x@y.test']);
    assert.deepEqual(await acme.listOrderIds('a1'), ['o1']);
    assert.deepEqual((await acme.listCertificates({ node: 'nuc-1', validAt: t })).map((c) => c.serial), ['0a1b']);
    assert.deepEqual(await acme.listCertificates({ node: 'other' }), []);
    await acme.putRevocation({ serial: '0a1b', reason: 1, revokedAt: iso(2), by: 'account:a1' });
    await assert.rejects(acme.putRevocation({ serial: '0a1b', reason: 1, revokedAt: iso(2), by: 'x' }), StoreConflictError);
    assert.equal((await acme.listRevocations()).length, 1);
    await acme.createOrder(order('o2', ['z2'], iso(1000)), [authz('z2', iso(1000))]);
    const pruned = await acme.prune(new Date(t.getTime() + 7_200_000));
    assert.deepEqual(pruned, { orders: 2, authorizations: 2 });
    assert.equal(await acme.getOrder('o2'), undefined);
    assert.equal((await acme.getCertificate('0a1b'))?.orderId, 'o1', 'certificates are never pruned');
  });

  it("newOrder's reads in one statement answer what listOrderIds and findReusableAuthorization answer one by one", async () => {
    const { stores: [s] } = await fresh();
    const acme = s!.acme;
    await acme.createAccount(account('a1'));
    await acme.createAccount(account('a2'));
    const name = (z: string) => `${z}.nuc-1.test`;
    const az = (id: string, accountId = 'a1', expires = iso(3_600_000)) => ({ ...authz(id, expires), accountId, identifier: { type: 'dns' as const, value: name(id) } });
    // Valid (reusable), pending, valid but expiring within the reuse window, deactivated, another account's.
    await acme.createOrder(order('o1', ['v', 'p', 'soon', 'off']), [az('v'), az('p'), az('soon', 'a1', iso(30_000)), az('off')]);
    await acme.createOrder({ ...order('o2', ['other']), accountId: 'a2' }, [az('other', 'a2')]);
    await acme.createOrder(order('o3', []), []);
    for (const id of ['v', 'soon', 'off', 'other']) await acme.updateAuthorization(id, validated);
    await acme.updateAuthorization('off', (a) => ({ ...a, deactivated: true }));
    const names = ['v', 'p', 'soon', 'off', 'other', 'none'].map(name);
    const at = new Date(t.getTime() + 60_000);
    const one = await acme.newOrderReads!('a1', names, at);
    const reusable = new Map<string, AuthorizationRecord>();
    for (const n of names) {
      const a = await acme.findReusableAuthorization('a1', n, at);
      if (a) reusable.set(n, a);
    }
    assert.deepEqual([...reusable.keys()], [name('v')], 'only the valid one of this account outlives the window');
    assert.deepEqual(one, { orderIds: await acme.listOrderIds('a1'), reusable });
    assert.deepEqual(one.orderIds, ['o1', 'o3']);
    assert.deepEqual(await acme.newOrderReads!('a3', [], at), { orderIds: [], reusable: new Map() });
  });

  it('newOrder in one statement places the order only when nothing needs deciding: no reusable authorization, §6.6 counts clear', async () => {
    const { stores: [s] } = await fresh();
    const acme = s!.acme;
    await acme.createAccount(account('a1'));
    const name = (z: string) => `${z}.nuc-1.test`;
    const az = (id: string, value = name(id)) => ({ ...authz(id), identifier: { type: 'dns' as const, value } });
    const guard = { now: t, reuseAt: new Date(t.getTime() + 60_000), maxOrders: 3, maxAuthorizations: 4 };
    // A new account: placed, with its authorizations, both readable and listed as createOrder's are.
    assert.equal(await acme.createOrderIfClear!(order('o1', ['x1', 'x2']), [az('x1'), az('x2')], guard), true);
    assert.deepEqual((await acme.getOrder('o1'))?.authorizationIds, ['x1', 'x2']);
    assert.equal((await acme.getAuthorization('x2', { current: true }))?.identifier.value, name('x2'));
    assert.deepEqual(await acme.listOrderIds('a1'), ['o1']);
    // A valid authorization for one of the names could be reused (§7.1.3): nothing is written.
    await acme.updateAuthorization('x1', validated);
    assert.equal(await acme.createOrderIfClear!(order('o2', ['y1']), [az('y1', name('x1'))], guard), false);
    assert.equal(await acme.getOrder('o2'), undefined);
    assert.equal(await acme.getAuthorization('y1', { current: true }), undefined);
    // Other names: placed. Unfinished orders now 2 of 3, their authorizations 3 of 4.
    assert.equal(await acme.createOrderIfClear!(order('o3', ['y2']), [az('y2')], guard), true);
    // Two more authorizations would pass 4; one more order would pass 3 after one more.
    assert.equal(await acme.createOrderIfClear!(order('o4', ['y3', 'y4']), [az('y3'), az('y4')], guard), false);
    assert.equal(await acme.createOrderIfClear!(order('o5', ['y5']), [az('y5')], guard), true);
    assert.equal(await acme.createOrderIfClear!(order('o6', ['y6']), [az('y6')], { ...guard, maxAuthorizations: 100 }), false, 'three unfinished orders');
    // An order with its certificate is finished, an expired one too: neither counts.
    await acme.putCertificate(cert('0c01', 'o1'), 'PEM');
    assert.equal(await acme.createOrderIfClear!(order('o7', ['y7']), [az('y7')], { ...guard, maxAuthorizations: 100 }), true);
    assert.equal(await acme.createOrderIfClear!(order('o8', ['y8']), [az('y8')], { ...guard, maxAuthorizations: 100 }), false, 'three unfinished orders again');
    const later = new Date(t.getTime() + 3_600_001);
    assert.equal(await acme.createOrderIfClear!(order('o9', ['y9'], iso(7_200_000)), [az('y9')], { ...guard, now: later, reuseAt: later, maxAuthorizations: 100 }), true, 'expired orders are finished');
    assert.deepEqual(await acme.listOrderIds('a1'), ['o1', 'o3', 'o5', 'o7', 'o9']);
  });

  it("finalize's reads in one statement answer what getOrder and findAccountByThumbprint answer, from the stored rows of every instance", async () => {
    const { stores: [a, b] } = await fresh(2);
    await a!.acme.createAccount(account('a1', 'old'));
    await a!.acme.updateAccount('a1', (x) => ({ ...x, thumbprint: 'new' }));
    await b!.acme.createAccount(account('a2'));
    await a!.acme.createOrder(order('o1', ['z1']), [authz('z1')]);
    await a!.acme.createOrder(order('o2', ['z2']), [authz('z2')]);
    await b!.acme.putCertificate(cert('0a', 'o2'), 'PEM');
    for (const s of [a!, b!]) {
      for (const tp of ['old', 'new', 'tp-a2', 'nobody']) {
        const both = await s.acme.getOrderAndAccountKey!('o1', tp);
        assert.deepEqual(both, { order: await s.acme.getOrder('o1'), isAccountKey: (await s.acme.findAccountByThumbprint(tp)) !== undefined }, tp);
        assert.equal(both!.isAccountKey, tp === 'new' || tp === 'tp-a2', tp);
      }
      assert.equal((await s.acme.getOrderAndAccountKey!('o2', 'new'))!.order.certificateSerial, '0a', 'read joined with its certificate');
      assert.equal(await s.acme.getOrderAndAccountKey!('nope', 'new'), undefined, 'no order, no answer');
    }
  });

  it('the database enforces one account per key, unique serials and one certificate per order across instances', async () => {
    const { stores: [a, b] } = await fresh(2);
    await a!.acme.createAccount(account('a1'));
    await assert.rejects(b!.acme.createAccount(account('a2', 'tp-a1')), (e: StoreConflictError) => e instanceof StoreConflictError && e.existingId === 'a1');
    await b!.acme.createAccount(account('a2'));
    await assert.rejects(b!.acme.updateAccount('a2', (x) => ({ ...x, thumbprint: 'tp-a1' })), StoreConflictError, 'a key change onto a used key');
    await a!.acme.createOrder(order('o1', ['z1']), [authz('z1')]);
    await a!.acme.createOrder(order('o2', ['z2']), [authz('z2')]);
    // Two instances finalize the same order at once: exactly one certificate is recorded.
    const results = await Promise.allSettled([a!.acme.putCertificate(cert('01', 'o1'), 'A'), b!.acme.putCertificate(cert('02', 'o1'), 'B')]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(lost.reason instanceof StoreConflictError);
    const winner = (await a!.acme.getOrder('o1'))!.certificateSerial;
    assert.equal(lost.reason.existingId, winner, 'the loser learns the winning serial');
    await assert.rejects(b!.acme.putCertificate(cert(winner!, 'o2'), 'C'), /already issued/, 'a serial is never recorded twice');
    // Each instance keeps the certificates it committed (for the download), never one rolled back.
    const loser = winner === '01' ? '02' : '01';
    for (const s of [a!, b!]) {
      assert.equal(await s.acme.getCertificate(loser), undefined, 'a rolled-back certificate is not served');
      assert.equal(await s.acme.getCertificateChain(loser), undefined);
      assert.equal((await s.acme.getCertificate(winner!))?.orderId, 'o1');
      assert.equal(await s.acme.getCertificateChain(winner!), winner === '01' ? 'A' : 'B');
    }
    const copy = (await a!.acme.getCertificate(winner!))!;
    copy.names.push('mutated.test');
    assert.deepEqual((await a!.acme.getCertificate(winner!))!.names, cert(winner!, 'o1').names, 'readers get copies');
    // Concurrent optimistic updates of one authorization lose nothing.
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b)!.acme.updateAuthorization('z2', (x) => ({ ...x, challenges: [...x.challenges, { id: 'n' + i, type: 'tls-alpn-01', token: 't', status: 'pending' }] }))));
    // The stored record: B's last update may reach A's copy a moment later (NOTIFY), as designed.
    assert.equal((await a!.acme.getAuthorization('z2', { current: true }))!.challenges.length, 11);
  });

  it('CRL numbers grow across instances; revocations reach the other instance', async () => {
    const { stores: [a, b] } = await fresh(2);
    const numbers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b)!.acme.nextCrlNumber()));
    assert.equal(new Set(numbers).size, 20, 'no CRL number twice');
    assert.equal(Math.max(...numbers), 20);
    const seen = new Promise<void>((resolve) => b!.acme.watchRevocations!(resolve));
    await a!.acme.createAccount(account('a1'));
    await a!.acme.putRevocation({ serial: '0f', reason: 0, revokedAt: iso(0), by: 'operator' });
    await seen;
  });

  it('the inventory is shared: a change by one instance (or the CLI) is seen by the other without a restart', async () => {
    const { db, url, stores: [a, b] } = await fresh(2);
    assert.deepEqual((await a!.inventory.read()).nodes, []);
    await b!.inventory.update((d) => void d.nodes.push({ name: 'nuc-1', dnsNames: ['a.n3x.internal'], dnsSuffixes: [], site: null, priority: 40, eab: null, createdAt: iso(0) } as never));
    const seen = async () => {
      for (let i = 0; i < 100; i++) {
        if ((await a!.inventory.read()).nodes.length === 1) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    assert.ok(await seen(), 'A sees B\'s change');
    await assert.rejects(a!.inventory.update((d) => {
      d.nodes.length = 0;
      throw new Error('refused');
    }), /refused/);
    assert.equal((await b!.inventory.read()).nodes.length, 1, 'a refused change writes nothing');
    const env = { PATH: process.env.PATH };
    const state = cluster.dir + '/cli-state-' + db;
    // A change with --store is signed with the audit key of an existing --state (never created).
    mkdirSync(state, { mode: 0o700 });
    const added = await runCli(['node', 'add', 'nuc-2', '--dns', 'b.n3x.internal', '--store', url, '--state', state], { env });
    assert.equal(added.code, 0, added.stderr);
    const listed = await runCli(['node', 'list', '--json'], { env: { ...env, NIXCA_STORE: url, NIXCA_STATE_DIR: state } });
    assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((n) => n.name).sort(), ['nuc-1', 'nuc-2']);
    for (let i = 0; i < 100 && (await b!.inventory.read()).nodes.length !== 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await b!.inventory.read()).nodes.length, 2, 'B sees the CLI\'s change');
  });
  it('each instance keeps accounts by id while its feed is up; an update anywhere reaches every instance', async () => {
    const { db, stores: [a, b] } = await fresh(2);
    await a!.acme.createAccount(account('acct-c'));
    assert.equal((await b!.acme.getAccount('acct-c'))!.status, 'valid');
    // A write that bypasses nixca (no NOTIFY) is not seen: B answers from its copy, one query less.
    await cluster.sql(db, `UPDATE accounts SET record = jsonb_set(record, '{contact}', '["mailto:x@n3x.internal"]') WHERE id = 'acct-c'`);
    assert.deepEqual((await b!.acme.getAccount('acct-c'))!.contact, []);
    // An update through any instance notifies: B drops its copy at once (within the notification's delay).
    await a!.acme.updateAccount('acct-c', (x) => ({ ...x, status: 'deactivated' }));
    let status = '';
    for (let i = 0; i < 100 && status !== 'deactivated'; i++) {
      status = (await b!.acme.getAccount('acct-c'))!.status;
      if (status !== 'deactivated') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 'deactivated', 'B sees the deactivation made on A');
    assert.deepEqual((await b!.acme.getAccount('acct-c'))!.contact, ['mailto:x@n3x.internal'], 'B re-read the row');
  });
  it('authorizations are kept per instance with their version: an update anywhere reaches every instance, its own write keeps the writer\'s copy, `current` reads the stored record', async () => {
    const { db, stores: [a, b] } = await fresh(2);
    await a!.acme.createAccount(account('a1'));
    await a!.acme.createOrder(order('o-z', ['z-p', 'z-v']), [authz('z-p'), authz('z-v')]);
    const bypass = (id: string) => cluster.sql(db, `UPDATE authorizations SET record = jsonb_set(record, '{deactivated}', 'true') WHERE id = $1`, [id]);
    // Kept from the first read, pending or valid (a write that bypasses nixca is not seen) ...
    assert.equal((await b!.acme.getAuthorization('z-p'))!.deactivated, undefined);
    await bypass('z-p');
    assert.equal((await b!.acme.getAuthorization('z-p'))!.deactivated, undefined, 'B answers from its copy');
    assert.equal((await b!.acme.getAuthorization('z-p', { current: true }))!.deactivated, true, 'current: the stored record');
    // ... and A's own copies, from createOrder and from its own writes, are used by A.
    await bypass('z-v');
    assert.equal((await a!.acme.getAuthorization('z-v'))!.deactivated, undefined, 'A answers from the copy createOrder left');
    await cluster.sql(db, `UPDATE authorizations SET record = record - 'deactivated' WHERE id = 'z-v'`);
    await a!.acme.updateAuthorization('z-v', validated);
    // A's own announcement comes back to A: its copy (the new version) stays.
    await new Promise((r) => setTimeout(r, 100));
    await bypass('z-v');
    assert.equal((await a!.acme.getAuthorization('z-v'))!.challenges[0]!.status, 'valid');
    assert.equal((await a!.acme.getAuthorization('z-v'))!.deactivated, undefined, "A's copy of its own write");
    // B's older copy of z-v (read before A's write) is dropped by A's announcement.
    let status: string | undefined;
    for (let i = 0; i < 100 && status !== 'valid'; i++) {
      status = (await b!.acme.getAuthorization('z-v'))!.challenges[0]!.status;
      if (status !== 'valid') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 'valid', 'B sees the validation made on A');
    await a!.acme.updateAuthorization('z-p', (x) => ({ ...x, expires: iso(60_000) }));
    let expires: string | undefined;
    for (let i = 0; i < 100 && expires !== iso(60_000); i++) {
      expires = (await b!.acme.getAuthorization('z-p'))!.expires;
      if (expires !== iso(60_000)) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(expires, iso(60_000), 'B sees the change made on A to a pending authorization');
  });

  it('an update starts from the row this instance last saw, and the version check makes a stale one cost a re-read, never a lost change', async () => {
    const { db, stores: [a, b] } = await fresh(2);
    await a!.acme.createAccount(account('a1'));
    await a!.acme.createOrder(order('o-h', ['z-h']), [authz('z-h')]);
    const version = async (table: string, id: string) => (await cluster.sql<{ version: number }>(db, `SELECT version FROM ${table} WHERE id = $1`, [id]))[0]!.version;
    // B changes both behind A's back; A's copies (from createOrder) are now stale.
    await b!.acme.updateOrder('o-h', (o) => ({ ...o, notAfter: iso(1) }));
    await b!.acme.updateAuthorization('z-h', (x) => ({ ...x, expires: iso(7_200_000) }));
    const o = await a!.acme.updateOrder('o-h', (x) => ({ ...x, error: { type: 'urn:ietf:params:acme:error:badCSR', detail: 'x', status: 400 } }));
    assert.equal(o?.notAfter, iso(1), "A's update applies to B's version");
    assert.equal((await b!.acme.getOrder('o-h'))?.notAfter, iso(1));
    assert.ok((await b!.acme.getOrder('o-h'))?.error);
    assert.equal(await version('orders', 'o-h'), 3);
    // A's copy says deactivated (its own write); B clears it. An update that would change nothing
    // on A's copy is still decided on the current row.
    await a!.acme.updateAuthorization('z-h', (x) => ({ ...x, deactivated: true }));
    await b!.acme.updateAuthorization('z-h', (x) => ({ ...x, deactivated: undefined }));
    const z = await a!.acme.updateAuthorization('z-h', (x) => (x.deactivated ? undefined : { ...x, deactivated: true }));
    assert.equal(z?.deactivated, true);
    assert.equal(z?.expires, iso(7_200_000), "B's change kept");
    assert.equal((await cluster.sql<{ d: boolean }>(db, `SELECT (record->>'deactivated')::boolean AS d FROM authorizations WHERE id = 'z-h'`))[0]!.d, true);
    assert.equal(await version('authorizations', 'z-h'), 5);
    // A certificate moves its order: the copy follows, and the next update needs no re-read but still checks.
    await a!.acme.createOrder(order('o-c', ['z-c']), [authz('z-c')]);
    await a!.acme.putCertificate(cert('0c', 'o-c'), 'PEM');
    const pool = a!.pool.pool;
    const names: string[] = [];
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    Object.assign(pool, { query: (...args: unknown[]) => (names.push((args[0] as { name?: string }).name ?? ''), query(...args)) });
    const c = await a!.acme.updateOrder('o-c', (x) => ({ ...x, certificateSerial: '0c' }));
    assert.deepEqual(names, ['order-update'], 'one round trip: the write');
    assert.equal(c?.certificateSerial, '0c');
    assert.equal(await version('orders', 'o-c'), 3);
  });

  it('no node-postgres client was handed a query while another ran', () => {
    assert.deepEqual(concurrentQueries, []);
  });
});
