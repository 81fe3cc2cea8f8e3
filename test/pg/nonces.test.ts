// Home-instance nonces on the shared store (src/acme/nonces.ts HomeNonces over
// src/store/pg/nonce-peers.ts), with real store handles on a throw-away cluster, each with its own
// pool and listen connection as separate processes have: a nonce is redeemed by its home from
// memory (no statement), by any other instance by asking the home over NOTIFY, exactly once either
// way; a forged, garbled or expired nonce is refused without I/O; a home that is gone (or
// restarted) means badNonce within the timeout, never a second acceptance.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { HomeNonces, type NonceCheck } from '../../src/acme/nonces.js';
import { openPgStore, type PgStore } from '../../src/store/pg/index.js';
import { startTestCluster, type TestCluster, migratedDatabase } from './cluster.js';
import { watchConcurrentQueries } from './deprecations.js';

const concurrentQueries = watchConcurrentQueries();
const TIMEOUT_MS = 600;

/** Counts every statement any node-postgres client of this process sends (pool and listen connections). */
function statementCounter(): { readonly n: number; stop(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let n = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  return {
    get n() {
      return n;
    },
    stop: () => void (proto.query = original),
  };
}

const isPromise = (v: unknown): v is Promise<unknown> => typeof (v as { then?: unknown })?.then === 'function';

describe('home-instance nonces on the PostgreSQL store', () => {
  let cluster: TestCluster;
  let url: string;
  const open: PgStore[] = [];
  const store = async (nonceTimeoutMs = TIMEOUT_MS) => {
    const s = await openPgStore({ url }, { nonceTimeoutMs, statsEveryMs: 3_600_000 });
    open.push(s);
    return s;
  };
  before(async () => {
    cluster = await startTestCluster();
    url = await migratedDatabase(cluster, 'nonces');
  });
  after(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    await cluster?.destroy();
  });

  it('the home redeems from memory with no statement; another instance asks the home; each nonce once', async () => {
    const [a, b] = [await store(), await store()];
    const [na, nb] = [new HomeNonces(a.noncePeers!), new HomeNonces(b.noncePeers!)];
    await new Promise((r) => setTimeout(r, 200)); // the stores' first /metrics count is done
    const issued = Array.from({ length: 200 }, () => na.issue());
    const counter = statementCounter();
    let verdicts: unknown[];
    try {
      verdicts = issued.map((n) => na.redeem(n));
      verdicts.push(...issued.slice(0, 20).map((n) => na.redeem(n)));
    } finally {
      counter.stop();
    }
    assert.equal(counter.n, 0, 'home redemptions sent no statement');
    assert.ok(!verdicts.some(isPromise), 'home redemption is synchronous');
    assert.deepEqual([...new Set(verdicts.slice(0, 200))], ['ok']);
    assert.deepEqual([...new Set(verdicts.slice(200))], ['unknown'], 'a second redemption at the home');

    const nonce = na.issue();
    const asking = statementCounter();
    try {
      assert.equal(await nb.redeem(nonce), 'ok', 'a nonce from A is accepted by B');
    } finally {
      asking.stop();
    }
    assert.ok(asking.n >= 2, `B's request and A's answer are statements (${asking.n} counted): the counter counts`);
    assert.equal(na.redeem(nonce), 'unknown', '… exactly once: not again at A');
    assert.equal(await nb.redeem(nonce), 'unknown', '… nor again at B');
    assert.equal(await na.redeem(nb.issue()), 'ok', 'and the other way round');
  });

  it('many concurrent redemptions of the same nonces at the home and at another instance: each granted exactly once', async () => {
    // A timeout long enough for every answer to arrive: an answer after the timeout is dropped, so
    // a nonce can then be granted by its home and accepted nowhere (at most once, never twice).
    const [a, b] = [await store(30_000), await store(30_000)];
    const [na, nb] = [new HomeNonces(a.noncePeers!), new HomeNonces(b.noncePeers!)];
    const nonces = [...Array.from({ length: 60 }, () => na.issue()), ...Array.from({ length: 60 }, () => nb.issue())];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const attempts: { nonce: string; local: boolean; verdict: Promise<NonceCheck> }[] = [];
    for (const [i, nonce] of nonces.entries()) {
      const home = i < 60 ? na : nb;
      const other = i < 60 ? nb : na;
      // A third of them: the home redeems first, then the asks come. Another third: only asks, four
      // at once. The rest: four asks, and the home's own two redemptions at a random moment (0-250
      // ms later: hundreds of asks queue on the pool), so that sometimes one and sometimes the other
      // reaches the nonce first.
      const group = i % 3;
      if (group === 0) attempts.push({ nonce, local: true, verdict: Promise.resolve(home.redeem(nonce)) });
      for (let k = 0; k < 4; k++) attempts.push({ nonce, local: false, verdict: Promise.resolve(other.redeem(nonce)) });
      if (group === 2) {
        const later = sleep(Math.random() * 250).then(() => home.redeem(nonce));
        for (let k = 0; k < 2; k++) attempts.push({ nonce, local: true, verdict: k ? later.then(() => home.redeem(nonce)) : later });
      }
    }
    const verdicts = await Promise.all(attempts.map((x) => x.verdict));
    const granted = attempts.filter((_, i) => verdicts[i] === 'ok');
    for (const [i, nonce] of nonces.entries()) {
      const won = granted.filter((g) => g.nonce === nonce);
      assert.equal(won.length, 1, `nonce ${i} granted exactly once`);
      if (i % 3 === 0) assert.ok(won[0]!.local, 'redeemed first at its home');
      if (i % 3 === 1) assert.ok(!won[0]!.local, 'asked for only by the other instance');
    }
  });

  it('forged, garbled and expired nonces are refused without I/O', async () => {
    const [a, b] = [await store(), await store()];
    let offset = 0;
    const na = new HomeNonces(a.noncePeers!, { now: () => Date.now() + offset });
    const nb = new HomeNonces(b.noncePeers!);
    const good = Buffer.from(na.issue(), 'base64url');
    const flip = (at: number) => {
      const x = Buffer.from(good);
      x[at] = x[at]! ^ 1;
      return x.toString('base64url');
    };
    offset = -16 * 60_000;
    const expired = na.issue();
    offset = 0;
    await new Promise((r) => setTimeout(r, 200));
    const counter = statementCounter();
    let verdicts: unknown[];
    try {
      // The home id (byte 0), the issue time (8), the random part (14), the tag (30); cut short; other alphabet.
      verdicts = [flip(0), flip(8), flip(14), flip(30), good.subarray(0, 30).toString('base64url'), expired].flatMap((n) => [na.redeem(n), nb.redeem(n)]);
      verdicts.push(nb.redeem('not base64!'));
    } finally {
      counter.stop();
    }
    assert.equal(counter.n, 0, 'no statement for any of them');
    assert.deepEqual(verdicts, [...Array(12).fill('unknown'), 'malformed']);
    assert.equal(await nb.redeem(good.toString('base64url')), 'ok', 'the untouched nonce is still good');
  });

  it('a home that is gone or restarted: its nonces are badNonce within the timeout, never accepted', async () => {
    const [a, b] = [await store(), await store()];
    const na = new HomeNonces(a.noncePeers!);
    const nb = new HomeNonces(b.noncePeers!);
    const [n1, n2] = [na.issue(), na.issue()];
    await a.close();
    const t0 = Date.now();
    assert.equal(await nb.redeem(n1), 'unknown');
    const ms = Date.now() - t0;
    // Not before the timeout; the upper bound only says it ends (a loaded machine runs timers late).
    assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 5000, `refused after ${ms} ms (timeout ${TIMEOUT_MS} ms)`);
    // A restart is a new process with a new id: it does not know its predecessor's nonces.
    const a2 = await store();
    const na2 = new HomeNonces(a2.noncePeers!);
    assert.notDeepEqual(a2.noncePeers!.instance, a.noncePeers!.instance);
    assert.equal(await na2.redeem(n2), 'unknown', 'the restarted instance forgot');
    assert.equal(await nb.redeem(na2.issue()), 'ok', 'its new nonces are good everywhere');
    // A one-shot command (listen: false) serves no nonces and redeems none.
    const cli = await openPgStore({ url }, { listen: false });
    open.push(cli);
    assert.equal(cli.noncePeers, undefined);
  });

  it('a grant counts only with the home\'s tag: any database role can NOTIFY, so forged grants are refused', async () => {
    const [a, b] = [await store(), await store()];
    const na = new HomeNonces(a.noncePeers!);
    const nb = new HomeNonces(b.noncePeers!);
    const [n1, n2] = [na.issue(), na.issue()];
    await a.close(); // the home is gone: only a forger can answer now
    const forger = new pg.Client({ connectionString: url });
    await forger.connect();
    try {
      const channel = `nixca_nonce_${b.noncePeers!.instance.toString('hex')}`;
      const forge = async (answer: (askId: string) => string) => {
        await new Promise((r) => setTimeout(r, 100));
        for (let i = 1; i <= 40; i++) await forger.query('SELECT pg_notify($1, $2)', [channel, answer(i.toString(36))]);
      };
      const [untagged] = await Promise.all([nb.redeem(n1), forge((id) => `g ${id}`)]);
      assert.equal(untagged, 'unknown', 'a grant without a tag is not a grant');
      const [wrong] = await Promise.all([nb.redeem(n2), forge((id) => `g ${id} ${'A'.repeat(22)}`)]);
      assert.equal(wrong, 'unknown', 'a grant with a wrong tag is not a grant');
      // The control: whoever holds the shared key can grant, so the check above is what refused.
      const n3 = na.issue();
      const asker = b.noncePeers!.instance.toString('hex');
      const tag = (id: string, nonce: string) => createHmac('sha256', b.noncePeers!.key).update(`nixca nonce grant ${asker} ${id} ${nonce}`).digest().subarray(0, 16).toString('base64url');
      const [keyed] = await Promise.all([nb.redeem(n3), forge((id) => `g ${id} ${tag(id, n3)}`)]);
      assert.equal(keyed, 'ok');
    } finally {
      await forger.end();
    }
  });

  it('another instance asks the home once per nonce: a replay there, or a second ask meanwhile, is refused at once with no statement', async () => {
    const [a, b] = [await store(), await store()];
    const [na, nb] = [new HomeNonces(a.noncePeers!), new HomeNonces(b.noncePeers!)];
    const [granted, used] = [na.issue(), na.issue()];
    assert.equal(na.redeem(used), 'ok', 'used at its home');
    assert.equal(await nb.redeem(granted), 'ok');
    assert.equal(await nb.redeem(used), 'unknown');
    await new Promise((r) => setTimeout(r, 200));
    const counter = statementCounter();
    let verdicts: unknown[];
    try {
      // The same signed request sent again and again: each would otherwise be two pg_notify.
      verdicts = Array.from({ length: 50 }, (_, i) => nb.redeem(i % 2 ? granted : used));
      await Promise.all(verdicts); // (a statement sent through the pool starts after a tick)
    } finally {
      counter.stop();
    }
    assert.deepEqual([...new Set(verdicts)], ['unknown'], 'refused synchronously');
    assert.equal(counter.n, 0, 'no statement for a replay');
    const fresh = na.issue();
    const asks = Array.from({ length: 5 }, () => nb.redeem(fresh));
    assert.equal(asks.filter(isPromise).length, 1, 'one ask goes to the home');
    assert.deepEqual((await Promise.all(asks)).sort(), ['ok', 'unknown', 'unknown', 'unknown', 'unknown']);
  });

  it('no node-postgres client was handed a query while another ran (the listen connection subscribes one channel at a time)', async () => {
    const s = await store();
    await Promise.all(Array.from({ length: 8 }, (_, i) => s.feed.subscribeNow(`nixca_nonce_${i.toString(16).padStart(16, '0')}`, () => undefined)));
    const many = Array.from({ length: 8 }, (_, i) => s.feed.subscribe(`nixca_nonce_${(i + 8).toString(16).padStart(16, '0')}`, () => undefined));
    await new Promise((r) => setTimeout(r, 200));
    many.forEach((unsubscribe) => unsubscribe());
    assert.deepEqual(concurrentQueries, []);
  });
});
