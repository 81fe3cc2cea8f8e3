// The shared ARI fetch record (src/store/pg/ari-polls.ts) against a real throw-away cluster:
// merges from several instances add their counts and keep the earliest and latest fetch, a node's
// latest fetch never loses to an older one, and pruning drops certificates not fetched for the
// retention window while node rows stay.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openPool, type PgPool } from '../../src/store/pg/connect.js';
import { mergeSharedAriPolls, readSharedAriPolls } from '../../src/store/pg/ari-polls.js';
import { addAriPoll, emptyAriPolls, ARI_POLL_PRUNE_AFTER_MS } from '../../src/status/ari-polls.js';
import { migratedDatabase, startTestCluster, type TestCluster } from './cluster.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const fetched = (serial: string, node: string, when: Date, userAgent: string) => {
  const d = emptyAriPolls();
  addAriPoll(d, { serial, node, accountId: 'acct-1', userAgent, at: when });
  return d;
};

describe('the shared ARI fetch record (PostgreSQL)', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let p: PgPool;
  before(async () => {
    cluster = await startTestCluster();
    p = await openPool({ url: await migratedDatabase(cluster, 'ari') });
  });
  after(async () => {
    await p?.end();
    await cluster?.destroy();
  });

  it('merges instances, keeps a node\'s latest fetch, and prunes certificates but not nodes', async () => {
    // Instance A saw the first fetch, instance B a later one, and A's late flush carries an older one.
    await mergeSharedAriPolls(p.pool, fetched('01ab', 'nuc-1', at(3_600_000), 'ua-a'), at(3_600_000));
    await mergeSharedAriPolls(p.pool, fetched('01ab', 'nuc-1', at(7_200_000), 'ua-b'), at(7_200_000));
    await mergeSharedAriPolls(p.pool, fetched('01ab', 'nuc-1', at(0), 'ua-old'), at(7_300_000));
    const merged = await readSharedAriPolls(p.pool);
    const cert = merged.certificates['01ab']!;
    assert.equal(cert.count, 3);
    assert.equal(cert.firstAt, at(0).toISOString());
    assert.equal(cert.lastAt, at(7_200_000).toISOString());
    assert.equal(cert.userAgent, 'ua-b', 'the user agent of the latest fetch');
    assert.equal(merged.nodes['nuc-1']!.lastAt, at(7_200_000).toISOString(), 'an older flush does not replace the node\'s latest fetch');
    // Nothing fetched for longer than the retention window: the certificate row goes, the node's stays.
    await mergeSharedAriPolls(p.pool, emptyAriPolls(), at(7_200_000 + ARI_POLL_PRUNE_AFTER_MS + 1000));
    const pruned = await readSharedAriPolls(p.pool);
    assert.deepEqual(Object.keys(pruned.certificates), []);
    assert.deepEqual(Object.keys(pruned.nodes), ['nuc-1']);
  });
});
