// The operations API (src/ops) on a real store and inventory, and accounts following their node's
// identity through the ACME server (fastify inject): removal, re-adding under the same name, EAB
// rotation with and without deactivation; ARI fetches recorded per certificate and per node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { addNode, ensureEab, removeNode } from '../../src/inventory/inventory.js';
import type { InventoryData } from '../../src/inventory/model.js';
import { applyOperation, parseOperation } from '../../src/ops/operations.js';
import { listAccounts, listCertificates } from '../../src/ops/queries.js';
import type { OpsDeps } from '../../src/ops/types.js';
import type { AuditEvent } from '../../src/audit/log.js';
import { addAriPoll, ariStatusByNode, emptyAriPolls } from '../../src/status/ari-polls.js';
import { BASE_URL, NODE_A, NODE_B, testEnv, type TestEnv } from '../acme/helpers/deps.js';
import { firstCertificate, injectTransport, TestAcmeClient } from '../acme/helpers/client.js';

const DIR_URL = BASE_URL + 'directory';
const UNAUTHORIZED = 'urn:ietf:params:acme:error:unauthorized';

describe('operations API and accounts that follow their node', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let deps: OpsDeps;
  const audited: AuditEvent[] = [];
  let revocations = 0;
  before(async () => {
    env = await testEnv();
    app = buildAcmeApp(env.deps);
    const inv = env.inventory;
    deps = {
      store: env.store,
      inventory: { read: async () => inv, update: async (fn) => { const copy = structuredClone(inv); const r = await fn(copy); Object.assign(inv, copy); return r; } },
      audit: async (e) => void audited.push(...e),
      now: () => env.clock.now,
      appliedBy: 'issuer',
      afterRevocation: async () => void revocations++,
      ariNeverPolled: async (nodes) => nodes.filter((n) => n === NODE_B.name),
    };
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });
  const client = async (eab: { keyId: string; macKey: string }) => {
    const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    assert.equal((await c.newAccount({ eab })).status, 201);
    return c;
  };
  const problemType = (r: { body: string }) => (JSON.parse(r.body) as { type?: string }).type;

  it('revokes by serial through the API: store, audit, CRL hook, one result; twice is a conflict', async () => {
    const c = await client(env.eab[NODE_A.name]!);
    const { chainPem } = await c.issue([NODE_A.dns[0]!]);
    const serial = firstCertificate(chainPem).serialNumber.toLowerCase();
    const r = await applyOperation(deps, parseOperation(JSON.parse(JSON.stringify({ op: 'cert.revoke', serial, reason: 1 }))));
    assert.equal(r.op, 'cert.revoke');
    assert.equal((await env.store.getRevocation(serial))?.reason, 1);
    assert.equal(revocations, 1);
    assert.ok(audited.some((e) => e.type === 'certificate.revoked' && e.subject === serial));
    await assert.rejects(applyOperation(deps, { op: 'cert.revoke', serial, reason: 1 }), (e: { kind?: string }) => e.kind === 'conflict');
    const list = await listCertificates(env.store, { status: 'revoked' }, env.clock.now, emptyAriPolls());
    assert.deepEqual(list.map((x) => x.serial), [serial]);
  });

  it('malformed operations are usage errors before anything happens', () => {
    assert.throws(() => parseOperation({ op: 'cert.revoke', serial: 5, reason: 1 }), (e: { kind?: string }) => e.kind === 'usage');
    assert.throws(() => parseOperation({ op: 'format-disk' }), /unknown op/);
  });

  it('EAB rotation keeps old accounts (and says so) unless --deactivate-accounts, which deactivates those of every earlier credential; they get unauthorized', async () => {
    const old = await client(env.eab[NODE_B.name]!);
    const kept = await applyOperation(deps, { op: 'node.eab', name: NODE_B.name, rotate: true, deactivateAccounts: false });
    assert.match(kept.warnings.join(), /1 account\(s\) bound with an earlier credential .* keep working/);
    assert.deepEqual((kept.data as { accountsKept: string[] }).accountsKept, [old.kid!.split('/').pop()]);
    assert.equal((await old.newOrder([NODE_B.dns[0]!])).status, 201);
    // The credential of the first rotation bound no account; the account made with the original
    // credential (two rotations back) is deactivated all the same: the operator asked that the
    // node's clients register again with the new credential.
    const second = (kept.data as { credential: { keyId: string; macKey: string } }).credential;
    const between = await client(second);
    const rotated = await applyOperation(deps, { op: 'node.eab', name: NODE_B.name, rotate: true, deactivateAccounts: true });
    assert.deepEqual([...(rotated.data as { deactivatedAccounts: string[] }).deactivatedAccounts].sort(), [old.kid!, between.kid!].map((k) => k.split('/').pop()!).sort());
    assert.match(rotated.summary, /deactivated 2 account\(s\) bound with earlier credentials/);
    for (const c of [old, between]) {
      const refused = await c.newOrder([NODE_B.dns[0]!]);
      assert.equal(refused.status, 401);
      assert.equal(problemType(refused), UNAUTHORIZED);
    }
    const cred = (rotated.data as { credential: { keyId: string; macKey: string } }).credential;
    const fresh = await client(cred);
    assert.equal((await fresh.newOrder([NODE_B.dns[0]!])).status, 201, 'the new credential registers and orders');
    const again = await applyOperation(deps, { op: 'node.eab', name: NODE_B.name, rotate: true, deactivateAccounts: true });
    assert.deepEqual((again.data as { deactivatedAccounts: string[] }).deactivatedAccounts, [fresh.kid!.split('/').pop()]);
    const refused = await fresh.newOrder([NODE_B.dns[0]!]);
    assert.equal(refused.status, 401);
    assert.equal(problemType(refused), UNAUTHORIZED);
    const other = await client(env.eab[NODE_A.name]!);
    await applyOperation(deps, { op: 'node.eab', name: NODE_B.name, rotate: true, deactivateAccounts: true });
    assert.equal((await other.newOrder([NODE_A.dns[0]!])).status, 201, 'accounts of other nodes are untouched');
  });

  it('EAB rotation with --deactivate-accounts: an audit log that refuses the entries leaves the accounts valid', async () => {
    const cur = env.inventory.nodes.find((n) => n.name === NODE_B.name)!.eab!;
    const c = await client({ keyId: cur.keyId, macKey: cur.macKey });
    const id = c.kid!.split('/').pop()!;
    const refusing: OpsDeps = { ...deps, audit: async (e) => { if (e.some((x) => x.type === 'account.deactivated')) throw new Error('disk full'); audited.push(...e); } };
    await assert.rejects(applyOperation(refusing, { op: 'node.eab', name: NODE_B.name, rotate: true, deactivateAccounts: true }), /disk full/);
    assert.equal((await env.store.getAccount(id))?.status, 'valid', 'no deactivation without its entry');
    assert.ok(!audited.some((e) => e.type === 'account.deactivated' && e.subject === id));
  });

  it('a node removed and added again is a new identity: its old accounts are refused even before deactivation', async () => {
    const a = await client(env.eab[NODE_A.name]!);
    // Behind the API's back (e.g. an inventory restored from backup): only the identity check stands.
    const inv: InventoryData = env.inventory;
    removeNode(inv, NODE_A.name);
    addNode(inv, { name: NODE_A.name, dnsNames: NODE_A.dns }, new Date(env.clock.now.getTime() + 1000));
    const { node } = ensureEab(inv, NODE_A.name, env.clock.now);
    const r = await a.newOrder([NODE_A.dns[0]!]);
    assert.equal(r.status, 401);
    assert.match(r.body, /earlier node named nuc-1/);
    const b = await client({ keyId: node.eab!.keyId, macKey: node.eab!.macKey });
    assert.equal((await b.newOrder([NODE_A.dns[0]!])).status, 201);
    const removed = await applyOperation(deps, { op: 'node.remove', name: NODE_A.name });
    assert.ok((removed.data as { deactivatedAccounts: string[] }).deactivatedAccounts.includes(b.kid!.split('/').pop()!));
    const views = await listAccounts(env.store, env.inventory, { node: NODE_A.name });
    assert.ok(views.every((v) => !v.usable));
    assert.equal((await b.newOrder([NODE_A.dns[0]!])).status, 401);
  });

  it('renew-now warns about nodes whose clients never fetched renewalInfo', async () => {
    const r = await applyOperation(deps, { op: 'renew-now', nodes: [NODE_B.name], reason: 'test' });
    assert.match(r.warnings.join(), /never fetched renewalInfo.*will NOT renew early/);
  });

  it('ARI fetches are recorded per certificate and per node', async () => {
    const polls = emptyAriPolls();
    addAriPoll(polls, { serial: 'aa', node: 'n1', accountId: 'acc', userAgent: 'Caddy/2.8', at: new Date('2026-01-01T00:00:00Z') });
    addAriPoll(polls, { serial: 'aa', node: 'n1', accountId: 'acc', userAgent: null, at: new Date('2026-01-02T00:00:00Z') });
    assert.equal(polls.certificates.aa!.count, 2);
    assert.equal(polls.certificates.aa!.userAgent, 'Caddy/2.8');
    const s = ariStatusByNode([{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }], polls, (n) => (n === 'n2' ? 1 : 0));
    assert.deepEqual(s.map((x) => x.ari), ['polling', 'never', 'no-certificates']);
  });
});
