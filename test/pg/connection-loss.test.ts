// The database going away under a connection that is checked out of the pool (a transaction
// between two statements, a statement running, the /health audit probe) must fail that work and
// nothing else: node-postgres emits 'error' on such a client, and an 'error' event nobody listens
// to ends the process. PostgreSQL's fast shutdown (`pg_ctl stop -m fast`) sends every backend
// FATAL 57P01 and closes it, which is what the cluster helper's stop() does.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import pg from 'pg';
import { openPool, type PgPool } from '../../src/store/pg/connect.js';
import { inTransaction } from '../../src/store/pg/audit.js';
import { freePort, startNixca, type NixcaServer } from '../../bench/lib/nixca.js';
import { startTestCluster, migratedDatabase, PG_USER, type TestCluster } from './cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the database stops under a checked-out connection', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let url: string;
  let p: PgPool;
  const reported: Error[] = [];
  before(async () => {
    cluster = await startTestCluster();
    url = await migratedDatabase(cluster, 'loss');
    p = await openPool({ url }, (err) => reported.push(err));
  });
  after(async () => {
    await p?.end().catch(() => undefined);
    await cluster?.destroy();
  });

  /** The database stopped (and started again after) while `fn` held a pooled connection. */
  async function stopDuring(fn: (c: pg.PoolClient, stopped: Promise<void>) => Promise<unknown>): Promise<unknown> {
    const before = reported.length;
    let stopped!: Promise<void>;
    const outcome = await inTransaction(p.pool, async (c) => {
      stopped = cluster.stop();
      return fn(c, stopped);
    }).then(() => 'committed', (err: Error) => err);
    await stopped;
    // The closed sockets' events arrive moments later.
    for (const deadline = Date.now() + 10_000; reported.length === before && Date.now() < deadline; ) await sleep(20);
    await cluster.start();
    assert.ok(reported.length > before, 'the lost connection was reported to the pool owner');
    // The broken client was discarded: the pool connects afresh.
    assert.equal((await p.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    return outcome;
  }

  it('idle in a transaction between two statements: the next statement fails, the process lives', async () => {
    const outcome = await stopDuring(async (c, stopped) => {
      await c.query('SELECT 1');
      await stopped;
      await sleep(200);
      await c.query('SELECT 2');
    });
    assert.ok(outcome instanceof Error, `the transaction ${String(outcome)}`);
  });

  it('a statement running: it fails with the server\'s reason, the process lives', async () => {
    const outcome = await stopDuring((c) => c.query('SELECT pg_sleep(30)'));
    assert.ok(outcome instanceof Error);
    assert.match(outcome.message, /terminating connection due to administrator command|Connection terminated/);
  });
});

function health(srv: NixcaServer, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    https.get(srv.target.directory.replace(/directory$/, 'health'), { ca, agent: false, timeout: 15_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve(0)).on('timeout', function (this: { destroy(): void }) {
      this.destroy();
    });
  });
}

describe('nixca serve when the database stops during a /health probe', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let srv: NixcaServer;
  before(async () => {
    cluster = await startTestCluster();
    const url = await migratedDatabase(cluster, 'serve');
    srv = await startNixca({ port: await freePort(), http01Port: await freePort(), names: [], logLevel: 'warn', store: { url } });
  });
  after(async () => {
    await srv?.stop();
    await cluster?.destroy();
  });

  it('stays up, answers 503 while the database is down and 200 once it is back', async () => {
    const ca = readFileSync(srv.target.caFile!);
    assert.equal(await health(srv, ca), 200);
    // Hold the audit head's row lock: the probe's append waits on it (lock_timeout 2 s) on a
    // checked-out connection, and the database stops under that wait.
    const holder = new pg.Client({ host: cluster.socketDir, port: cluster.port, user: PG_USER, database: 'serve' });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM audit_head FOR UPDATE');
    const probe = health(srv, ca);
    // The probe's backend, once it waits on the lock, is ended by the server (FATAL 57P01, as a
    // fast shutdown ends every backend) while its connection is checked out; then the database stops.
    let ended = false;
    for (const deadline = Date.now() + 10_000; !ended && Date.now() < deadline; await sleep(50)) {
      const r = await holder.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = 'serve' AND wait_event_type = 'Lock'");
      ended = r.rows.some((x: { ok: boolean }) => x.ok);
    }
    assert.ok(ended, 'the probe waited on the audit head lock');
    await cluster.stop();
    await holder.end().catch(() => undefined);
    const during = await probe;
    let alive = true;
    try {
      process.kill(srv.pid, 0);
    } catch {
      alive = false;
    }
    assert.ok(alive, `the server died:\n${srv.describe()}`);
    assert.equal(during, 503, `the probe whose connection the server ended\n${srv.describe()}`);
    assert.equal(await health(srv, ca), 503, 'a probe while the database is down');
    await cluster.start();
    let code = 0;
    for (const deadline = Date.now() + 60_000; code !== 200 && Date.now() < deadline; await sleep(250)) code = await health(srv, ca);
    assert.equal(code, 200, `not healthy again after the database came back\n${srv.describe()}`);
  });
});
