// Pure parts of the admin channel and the listings: which pids hold the peer end of a socket in
// `ss -xpnH` output, ARI record pruning, and the certificate filters of `cert list`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { peerPids } from '../../src/ops/peer.js';
import { addAriPoll, emptyAriPolls, pruneAriPolls, ARI_POLL_PRUNE_AFTER_MS } from '../../src/status/ari-polls.js';
import { listCertificates } from '../../src/ops/queries.js';
import type { AcmeStore } from '../../src/acme/store.js';
import type { CertificateRecord, RevocationRecord } from '../../src/acme/model.js';

// Recorded from `ss -xpnH` on Debian (iproute2 6.x): the server's accepted end (inode 25905) and
// the client's end (inode 25904, unnamed), plus an unrelated socket.
const SS = [
  'u_str ESTAB 0      0      /tmp/peertest.sock 25905 * 25904 users:(("node",pid=12751,fd=20))',
  'u_str ESTAB 0      0                       * 25904 * 25905 users:(("node",pid=12810,fd=18),("sh",pid=12811,fd=18))',
  'u_str ESTAB 0      0                       * 31000 * 31001 users:(("systemd",pid=1,fd=3))',
  'u_str ESTAB 0      0                       * 40000 * 40001',
].join('\n');

describe('admin socket peer lookup', () => {
  it('names every process holding the peer end, never our own end', () => {
    assert.deepEqual(peerPids(SS, '25905'), [12810, 12811]);
  });
  it('an unlisted socket is null; a listed one without visible holders is empty', () => {
    assert.equal(peerPids(SS, '99999'), null);
    assert.deepEqual(peerPids(SS, '40001'), []);
  });
});

describe('ARI record pruning', () => {
  it('drops certificates not fetched for the prune period, keeps the per-node record', () => {
    const polls = emptyAriPolls();
    const now = new Date('2026-06-01T00:00:00Z');
    addAriPoll(polls, { serial: 'old', node: 'n1', accountId: 'a', userAgent: null, at: new Date(now.getTime() - ARI_POLL_PRUNE_AFTER_MS - 1000) });
    addAriPoll(polls, { serial: 'new', node: 'n2', accountId: 'b', userAgent: null, at: now });
    pruneAriPolls(polls, now);
    assert.deepEqual(Object.keys(polls.certificates), ['new']);
    assert.deepEqual(Object.keys(polls.nodes).sort(), ['n1', 'n2']);
  });
});

describe('cert list filters', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const at = (h: number) => new Date(now.getTime() + h * 3_600_000).toISOString();
  const cert = (serial: string, node: string, notAfterH: number): CertificateRecord => ({
    serial, accountId: 'acc', node, names: [`${node}.test`], notBefore: at(-200), notAfter: at(notAfterH), orderId: 'o', issuedAt: at(-200 + notAfterH / 100), spkiSha256: '00',
  });
  const certs = [cert('01', 'n1', 10), cert('02', 'n1', 100), cert('03', 'n2', -1), cert('04', 'n2', 5)];
  const revs: RevocationRecord[] = [{ serial: '04', reason: 1, revokedAt: at(-1), by: 'operator' }];
  const store = {
    listCertificates: async (q: { node?: string } = {}) => certs.filter((c) => q.node === undefined || c.node === q.node),
    getRevocation: async (s: string) => revs.find((r) => r.serial === s),
  } as unknown as AcmeStore;
  const serials = async (f: Parameters<typeof listCertificates>[1]) => (await listCertificates(store, f, now, emptyAriPolls())).map((c) => c.serial).sort();
  it('by status, node and expiry window (expiring counts only valid certificates)', async () => {
    assert.deepEqual(await serials({ status: 'valid' }), ['01', '02']);
    assert.deepEqual(await serials({ status: 'expired' }), ['03']);
    assert.deepEqual(await serials({ status: 'revoked' }), ['04']);
    assert.deepEqual(await serials({ node: 'n2' }), ['03', '04']);
    assert.deepEqual(await serials({ expiringWithinMs: 24 * 3_600_000 }), ['01']);
  });
});
