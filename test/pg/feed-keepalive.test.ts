// The change feed's listen connection is asked `SELECT 1` now and then: a connection that dies
// silently (no FIN, no RST: a frozen path) is noticed and replaced, instead of counting as
// connected while no notification can arrive.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { ChangeFeed } from '../../src/store/pg/notify.js';
import { PG_USER, startTestCluster, type TestCluster } from './cluster.js';

/** A TCP proxy to the cluster's unix socket whose open connections can be frozen (nothing forwarded, nothing closed). */
function freezableProxy(socketPath: string) {
  const pairs: Array<[net.Socket, net.Socket]> = [];
  const all: net.Socket[] = [];
  const server = net.createServer((down) => {
    const up = net.connect(socketPath);
    down.pipe(up);
    up.pipe(down);
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    pairs.push([down, up]);
    all.push(down, up);
  });
  return {
    server,
    listen: () => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port))),
    /** What was sent on the open connections is no longer delivered; they stay open. */
    freeze() {
      for (const [down, up] of pairs.splice(0)) {
        down.unpipe(up);
        up.unpipe(down);
        down.pause();
        up.pause();
      }
    },
    close: () => {
      for (const sock of all) sock.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

let cluster: TestCluster;
let db: string;
before(async () => {
  cluster = await startTestCluster();
  await cluster.createDatabase('feed');
  db = 'feed';
});
after(async () => {
  await cluster?.destroy();
});

const until = async (what: string, ok: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

it('a listen connection that stops answering counts as lost within the keep-alive timeout and is replaced; subscribers resynchronise', { timeout: 60_000 }, async () => {
  const proxy = freezableProxy(join(cluster.socketDir, `.s.PGSQL.${cluster.port}`));
  const port = await proxy.listen();
  const lost: string[] = [];
  const feed = new ChangeFeed({ host: '127.0.0.1', port, user: PG_USER, database: db }, (msg, err) => lost.push(`${msg}: ${err?.message}`), { keepAliveMs: 100, keepAliveTimeoutMs: 300 });
  const resyncs: Array<string | undefined> = [];
  try {
    await feed.start();
    await feed.subscribeNow('nixca_revocation', (p) => resyncs.push(p));
    assert.equal(feed.connected, true);
    await cluster.sql(db, "SELECT pg_notify('nixca_revocation', 'before')");
    await until('the notification before the freeze', () => resyncs.includes('before'));

    proxy.freeze();
    await until('the frozen connection counted as lost', () => !feed.connected);
    assert.match(lost.join('\n'), /did not answer a keep-alive query within 300 ms/);
    // New connections through the proxy work: the feed reconnects by itself and says so.
    await until('reconnected', () => feed.connected);
    await until('subscribers told to resynchronise', () => resyncs.includes(undefined));
    await cluster.sql(db, "SELECT pg_notify('nixca_revocation', 'after')");
    await until('a notification after the reconnect', () => resyncs.includes('after'));
  } finally {
    await feed.close();
    await proxy.close();
  }
});
