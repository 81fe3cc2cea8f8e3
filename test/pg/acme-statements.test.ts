// The ACME core on the shared store, request by request: which statements finalize, newAccount and newOrder
// send (each is a round trip and database CPU), and that folding reads together changes no answer.
// Real store handles on a throw-away cluster, each with its own pool as separate processes have.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64url } from 'jose';
import pg from 'pg';
import { openPgStore, type PgStore } from '../../src/store/pg/index.js';
import { startTestCluster, type TestCluster, migratedDatabase } from './cluster.js';
import { watchConcurrentQueries } from './deprecations.js';
import { appRig, type AppRig } from '../acme/helpers/app.js';
import { injectTransport, TestAcmeClient, testCsr } from '../acme/helpers/client.js';
import { BASE_URL, NODE_A } from '../acme/helpers/deps.js';

const concurrentQueries = watchConcurrentQueries();

/** The statements (prepared statement names, else the SQL) every node-postgres client of this process sends while `fn` runs. */
async function statementsOf<T>(fn: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const sent: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0] as { name?: string; text?: string } | string;
    // The change feeds' keep-alive (SELECT 1 every 15 s, notify.ts) is not the request's.
    if (q !== 'SELECT 1') sent.push(typeof q === 'string' ? q : (q.name ?? q.text ?? '?'));
    return original.apply(this, args);
  };
  try {
    return { result: await fn(), sent };
  } finally {
    proto.query = original;
  }
}

/** The CSR key pair of an account's key (ECDSA P-256), for a CSR that must be refused (RFC 8555 §11.1). */
async function accountKeys(c: TestAcmeClient) {
  return { privateKey: c.key.privateKey, publicKey: await crypto.subtle.importKey('jwk', c.key.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) };
}

describe('the ACME core on the shared store: statements of finalize and newAccount', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let url: string;
  const open: PgStore[] = [];
  let a: PgStore;
  let b: PgStore;
  let rig: AppRig;
  before(async () => {
    cluster = await startTestCluster();
    url = await migratedDatabase(cluster, 'acme_statements');
    for (let i = 0; i < 2; i++) open.push(await openPgStore({ url }, { statsEveryMs: 3_600_000 }));
    [a, b] = open as [PgStore, PgStore];
    rig = await appRig({ store: a.acme });
  });
  after(async () => {
    await rig?.close();
    for (const s of open) await s.close().catch(() => undefined);
    await cluster?.destroy();
  });

  it("finalize: the CSR key's account check (RFC 8555 §11.1) is answered by the order's read, no statement of its own", async () => {
    const names = [NODE_A.dns[0]!];
    const { body } = await rig.client.readyOrder(names);
    const { der } = await testCsr(names);
    const { result: fin, sent } = await statementsOf(() => rig.client.post(body.finalize as string, { csr: base64url.encode(der) }));
    assert.equal(fin.status, 200, fin.body);
    assert.equal(fin.json().status, 'valid');
    assert.equal(sent.filter((s) => s === 'order-get-key').length, 1, sent.join(', '));
    assert.ok(!sent.includes('acct-by-tp') && !sent.includes('order-get'), `no separate key lookup or order read: ${sent.join(', ')}`);
  });

  it("finalize: a CSR with another account's key is badCSR from that read, also for an account another instance created; the order stays ready", async () => {
    const names = [NODE_A.dns[0]!];
    const { url: orderUrl, body } = await rig.client.readyOrder(names);
    const { result: res, sent } = await statementsOf(async () => rig.client.post(body.finalize as string, { csr: base64url.encode((await testCsr(names, { keys: await accountKeys(rig.other!) })).der) }));
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().type, 'urn:ietf:params:acme:error:badCSR');
    assert.match(String(res.json().detail), /key of an ACME account/);
    assert.ok(!sent.includes('acct-by-tp'), sent.join(', '));
    // An account made through instance B, which A has never seen (no copy of it anywhere in A).
    const bRig = await appRig({ store: b.acme }, { accounts: 1 });
    try {
      const fromB = await accountKeys(bRig.client);
      const res2 = await rig.client.post(body.finalize as string, { csr: base64url.encode((await testCsr(names, { keys: fromB })).der) });
      assert.equal(res2.status, 400, res2.body);
      assert.match(String(res2.json().detail), /key of an ACME account/);
    } finally {
      await bRig.close();
    }
    assert.equal((await rig.client.post(orderUrl, '')).json().status, 'ready');
  });

  it('finalize: an unreadable CSR is reported as before, after the order checks (orderNotReady first)', async () => {
    // A name no authorization of this account is valid for yet (the others are reused: ready at once).
    const pending = (await rig.client.newOrder([NODE_A.dns[1]!])).json<{ status: string; finalize: string }>();
    assert.equal(pending.status, 'pending');
    const names = [NODE_A.dns[0]!];
    const notReady = await rig.client.post(pending.finalize, { csr: 'not a CSR!' });
    assert.equal(notReady.status, 403, notReady.body);
    assert.equal(notReady.json().type, 'urn:ietf:params:acme:error:orderNotReady');
    const { body } = await rig.client.readyOrder(names);
    const garbled = await rig.client.post(body.finalize as string, { csr: base64url.encode(Buffer.from('30030201', 'hex')) });
    assert.equal(garbled.status, 400, garbled.body);
    assert.equal(garbled.json().type, 'urn:ietf:params:acme:error:badCSR');
  });

  it('newAccount: a new key is one statement; a known key is that statement (nothing inserted) and a read, 200 with the account', async () => {
    const c = await TestAcmeClient.create(injectTransport(rig.app), BASE_URL + 'directory');
    const created = await statementsOf(() => c.newAccount({ eab: rig.env.eab[NODE_A.name] }));
    assert.equal(created.result.status, 201, created.result.body);
    assert.deepEqual(created.sent, ['acct-create']);
    const known = await statementsOf(() => c.newAccount({ eab: rig.env.eab[NODE_A.name], contact: ['mailto:changed@example.org'] }));
    assert.equal(known.result.status, 200, known.result.body);
    assert.equal(known.result.headers.location, c.kid);
    assert.deepEqual(known.result.json().contact, []);
    assert.deepEqual(known.sent, ['acct-create', 'acct-by-tp']);
    // §7.3.1: a known key's invalid payload is ignored too; the lookup follows the refusal.
    const invalid = await statementsOf(() => c.post(c.directory.newAccount!, { termsOfServiceAgreed: 'yes' }, { useJwk: true }));
    assert.equal(invalid.result.status, 200, invalid.result.body);
    assert.deepEqual(invalid.sent, ['acct-by-tp']);
  });

  it('newAccount: concurrent requests with one key at two instances make one account; the database logs no error for the refused inserts', async () => {
    const bRig = await appRig({ store: b.acme, eabRequired: false }, { accounts: 1 });
    const aApp = await appRig({ store: a.acme, eabRequired: false }, { accounts: 1 });
    try {
      const one = await TestAcmeClient.create(injectTransport(aApp.app), BASE_URL + 'directory');
      const other = new TestAcmeClient(injectTransport(bRig.app), one.directoryUrl, one.key);
      other.directory = one.directory;
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : one).newAccount()));
      assert.deepEqual(results.map((r) => r.status).sort(), [...Array(11).fill(200), 201], results.map((r) => r.body).join('\n'));
      const ids = new Set(results.map((r) => String(r.headers.location).split('/').pop()));
      assert.equal(ids.size, 1, 'one account for every request, at either instance');
      const rows = await cluster.sql<{ n: string }>('acme_statements', 'SELECT count(*) AS n FROM accounts WHERE thumbprint = $1', [await one.thumbprint()]);
      assert.equal(rows[0]!.n, '1');
    } finally {
      await aApp.close();
      await bRig.close();
    }
    const log = await readFile(join(cluster.dir, 'log'), 'utf8');
    assert.doesNotMatch(log, /accounts_thumbprint_key/, 'no unique-violation ERROR for a known key');
  });

  it('newOrder: one statement when nothing needs deciding; with an authorization to reuse (§7.1.3), the reads and the insert, the authorization reused', async () => {
    const names = [NODE_A.dns[1]!];
    const { result: first, sent } = await statementsOf(() => rig.client.newOrder(names));
    assert.equal(first.status, 201, first.body);
    assert.deepEqual(sent, ['order-create-if-clear']);
    const { body } = await rig.client.readyOrder(names);
    const valid = (body.authorizations as string[])[0]!;
    const { result: again, sent: sent2 } = await statementsOf(() => rig.client.newOrder(names));
    assert.equal(again.status, 201, again.body);
    // The exact §6.6 check reads the account's orders (order-get) between the reads and the insert.
    assert.deepEqual([sent2[0], sent2[1], sent2.at(-1)], ['order-create-if-clear', 'order-new-reads', 'order-create'], sent2.join(', '));
    assert.ok(sent2.slice(2, -1).every((x) => x === 'order-get'), sent2.join(', '));
    assert.deepEqual(again.json().authorizations, [valid]);
  });

  it('newOrder: when the guard counts an order the exact check does not (deactivated authorization, order invalid) the order is placed; over the §6.6 limit it is rateLimited with Retry-After', async () => {
    const limited = await appRig({ store: b.acme, limits: { pendingOrdersPerAccount: 2 } }, { accounts: 1 });
    try {
      const c = limited.client;
      const o1 = await c.newOrder([NODE_A.dns[0]!]);
      assert.equal(o1.status, 201, o1.body);
      const gone = (o1.json().authorizations as string[])[0]!;
      assert.equal((await c.post(gone, { status: 'deactivated' })).json().status, 'deactivated');
      const o2 = await c.newOrder([NODE_A.dns[1]!]);
      assert.equal(o2.status, 201, o2.body);
      // Guard: two unfinished orders (the invalid one too) + 1 > 2. Exact: one pending + 1 ≤ 2.
      const { result: o3, sent } = await statementsOf(() => c.newOrder([NODE_A.dns[0]!]));
      assert.equal(o3.status, 201, o3.body);
      assert.ok(sent.includes('order-new-reads') && sent.includes('order-create'), sent.join(', '));
      const o4 = await c.newOrder([NODE_A.dns[1]!]);
      assert.equal(o4.status, 429, o4.body);
      assert.equal(o4.json().type, 'urn:ietf:params:acme:error:rateLimited');
      assert.ok(Number(o4.headers['retry-after']) > 0);
    } finally {
      await limited.close();
    }
  });

  it('no node-postgres client was handed a query while another ran', () => {
    assert.deepEqual(concurrentQueries, []);
  });
});
