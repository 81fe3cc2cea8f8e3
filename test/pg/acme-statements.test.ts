// The ACME core on the shared store, request by request: which statements finalize and newAccount
// send (each is a round trip and database CPU), and that folding reads together changes no answer.
// Real store handles on a throw-away cluster, each with its own pool as separate processes have.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64url } from 'jose';
import pg from 'pg';
import { openPgStore, type PgStore } from '../../src/store/pg/index.js';
import { migrate } from '../../src/store/pg/migrate.js';
import { openPool } from '../../src/store/pg/connect.js';
import { startTestCluster, type TestCluster } from './cluster.js';
import { watchConcurrentQueries } from './deprecations.js';
import { appRig, type AppRig } from '../acme/helpers/app.js';
import { testCsr, type TestAcmeClient } from '../acme/helpers/client.js';
import { NODE_A } from '../acme/helpers/deps.js';

const concurrentQueries = watchConcurrentQueries();

/** The statements (prepared statement names, else the SQL) every node-postgres client of this process sends while `fn` runs. */
async function statementsOf<T>(fn: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const sent: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0] as { name?: string; text?: string } | string;
    sent.push(typeof q === 'string' ? q : (q.name ?? q.text ?? '?'));
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
    url = await cluster.createDatabase('acme_statements');
    const p = await openPool({ url });
    await migrate(p.pool);
    await p.end();
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

  it('no node-postgres client was handed a query while another ran', () => {
    assert.deepEqual(concurrentQueries, []);
  });
});
