// `nixca db import`: an embedded store built by real issuance (a real `nixca serve`, ACME clients
// over loopback, an operator revocation) is moved into a throw-away PostgreSQL cluster; then
// `nixca serve --store` on that database hands out an imported certificate byte-identical to the
// one the client received from the embedded issuer, and revokes an imported certificate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type * as acme from 'acme-client';
import { configureAcmeClient, FlowClient, Http01Responder, prepare, runFlow, splitPem, type FlowOptions, type Prepared } from '../../bench/lib/flow.js';
import { DEFAULT_SUFFIX, freePort, startNixca, type NixcaServer } from '../../bench/lib/nixca.js';
import { normalizeSerial } from '../../src/ca/serial.js';
import { openEmbeddedSnapshot } from '../../src/store/embedded-snapshot.js';
import { openPool } from '../../src/store/pg/connect.js';
import { importSnapshot, ImportError } from '../../src/store/pg/import.js';
import { runCli } from '../helpers/cli.js';
import { startTestCluster, type TestCluster } from './cluster.js';

const serialOf = (chainPem: string) => normalizeSerial(new X509Certificate(splitPem(chainPem)[0]!).serialNumber);

/** One issuance that keeps its order (for the certificate URL) and the chain as received. */
async function issue(prep: Prepared, opts: FlowOptions): Promise<{ order: acme.Order; chain: string }> {
  const fc = new FlowClient(prep, opts);
  try {
    const deadline = performance.now() + opts.timeoutMs;
    await fc.client.createAccount({ termsOfServiceAgreed: true });
    const order = await fc.client.createOrder({ identifiers: [{ type: 'dns', value: prep.name }] });
    await fc.validate(order, deadline);
    const fin = await fc.finalize(order, deadline);
    return { order: fin, chain: String(await fc.client.getCertificate(fin)) };
  } finally {
    fc.releaseTokens();
    fc.destroy();
  }
}

describe('nixca db import: embedded store → PostgreSQL', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let url: string;
  let state: string;
  let responder: Http01Responder;
  const stops: (() => Promise<unknown>)[] = [];
  const names = Array.from({ length: 3 }, (_, i) => `imp${process.pid}-${i}.${DEFAULT_SUFFIX}`);
  let preps: Prepared[];
  let http01Port: number;
  let first: { order: acme.Order; chain: string };
  let revokedByOperator = '';
  let embedded: NixcaServer;
  const flowOpts = (s: NixcaServer): FlowOptions => ({
    directory: s.target.directory, secureContext: createSecureContext({ ca: readFileSync(s.target.caFile!) }), eab: s.target.eab, responder, pollMs: 200, timeoutMs: 60_000,
  });

  before(async () => {
    configureAcmeClient(60_000);
    cluster = await startTestCluster();
    stops.push(() => cluster.destroy());
    url = await cluster.createDatabase('nixca');
    assert.equal((await runCli(['db', 'migrate', '--store', url], { env: { PATH: process.env.PATH } })).code, 0);
    state = mkdtempSync(join(tmpdir(), 'nixca-import-'));
    stops.push(async () => rmSync(state, { recursive: true, force: true }));
    http01Port = await freePort();
    responder = new Http01Responder(http01Port);
    await responder.start();
    stops.unshift(() => responder.close());
    embedded = await startNixca({ port: await freePort(), http01Port, names, stateDir: state, keepState: true, logLevel: 'warn' });
    stops.unshift(() => embedded.stop({ keepState: true }));
    preps = await prepare(names);
    const opts = flowOpts(embedded);
    first = await issue(preps[0]!, opts);
    for (const p of preps.slice(1)) {
      const r = await runFlow(p, opts);
      assert.ok(r.ok, r.ok ? '' : r.error);
      if (!revokedByOperator) revokedByOperator = serialOf(r.chainPem);
    }
    // An operator revocation through the running issuer: a revocation record and a CRL number.
    const rev = await runCli(['cert', 'revoke', revokedByOperator, '--reason', 'keyCompromise', '--state', state], { env: { PATH: process.env.PATH } });
    assert.equal(rev.code, 0, rev.stderr);
  });
  after(async () => {
    for (const s of stops) await s().catch(() => undefined);
  });

  const dbImport = (extra: string[] = []) => runCli(['db', 'import', '--from-state', state, '--store', url, ...extra], { env: { PATH: process.env.PATH } });

  it('is refused while a nixca serve writes the embedded store, and then moves everything, verified', async () => {
    const busy = await dbImport();
    assert.equal(busy.code, 5, busy.stderr);
    assert.match(busy.stderr, /is being written by process \d+ \(nixca serve\?\): stop it first/);
    await embedded.stop({ keepState: true });
    // What the embedded issuer recorded of its clients' renewalInfo fetches goes along.
    const fetched = { serial: serialOf(first.chain), node: 'imp', accountId: 'acct', firstAt: '2026-01-01T00:00:00.000Z', lastAt: new Date().toISOString(), count: 3, userAgent: 'Caddy/2.8.4' };
    writeFileSync(join(state, 'acme', 'ari-polls.json'), JSON.stringify({ version: 1, certificates: { [fetched.serial]: fetched }, nodes: { imp: fetched } }));

    const r = await dbImport(['--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { counts: Record<string, number>; crlNumber: number; inventory: { nodes: number; eabCredentials: number }; audit: { entries: number; head: { seq: number; hash: string } }; verified: { chainsCompared: number; chainsTotal: number; auditHead: boolean } };
    assert.deepEqual({ certificates: s.counts.certificates, revocations: s.counts.revocations, accounts: s.counts.accounts }, { certificates: 3, revocations: 1, accounts: 3 });
    assert.ok(s.counts.orders >= 3 && s.counts.authorizations >= 3, JSON.stringify(s.counts));
    assert.ok(s.crlNumber >= 1, 'the CRL number moved');
    const inv = JSON.parse(readFileSync(join(state, 'inventory.json'), 'utf8')) as { nodes: { eab: unknown }[] };
    assert.deepEqual([s.inventory.nodes, s.inventory.eabCredentials], [inv.nodes.length, inv.nodes.filter((x) => x.eab).length]);
    assert.ok(inv.nodes.length >= 1);
    assert.deepEqual([s.verified.chainsCompared, s.verified.chainsTotal], [3, 3]);
    assert.deepEqual((s as unknown as { ariPolls: unknown }).ariPolls, { certificates: 1, nodes: 1 });
    const [ari] = await cluster.sql<{ value: string }>('nixca', 'SELECT value FROM nixca_meta WHERE key = $1', [`ari:${fetched.serial}`]);
    assert.deepEqual(JSON.parse(ari!.value), fetched);
    // The audit chain: every line of audit/log.jsonl, unchanged, and the same head.
    const lines = readFileSync(join(state, 'audit', 'log.jsonl'), 'utf8').trim().split('\n');
    const fileHead = JSON.parse(readFileSync(join(state, 'audit', 'head.json'), 'utf8')) as { seq: number; hash: string };
    assert.deepEqual([s.audit.entries, s.audit.head, s.verified.auditHead], [lines.length, { seq: fileHead.seq, hash: fileHead.hash }, true]);
    const dbLines = await cluster.sql<{ entry: string }>('nixca', 'SELECT entry FROM audit_entries ORDER BY seq');
    assert.deepEqual(dbLines.map((x) => x.entry), lines);
    const [head] = await cluster.sql<{ seq: string; hash: string }>('nixca', 'SELECT seq, hash FROM audit_head');
    assert.deepEqual([Number(head!.seq), head!.hash], [fileHead.seq, fileHead.hash]);
    const events = await cluster.sql<{ subject: string }>('nixca', "SELECT subject FROM audit_entries WHERE event = 'certificate.issued'");
    assert.ok(events.some((e) => e.subject === serialOf(first.chain)), 'the issuance of an imported certificate is in the imported chain');

    const [row] = await cluster.sql<{ n: string }>('nixca', 'SELECT n FROM crl_number');
    assert.equal(Number(row!.n), s.crlNumber);
    const [chain] = await cluster.sql<{ chain_pem: string }>('nixca', 'SELECT chain_pem FROM certificates WHERE serial = $1', [serialOf(first.chain)]);
    assert.equal(chain!.chain_pem, first.chain, 'the chain in the database is the one the client received');

    // An audit log that does not verify is refused before anything is written (an edited entry).
    const logFile = join(state, 'audit', 'log.jsonl');
    const original = readFileSync(logFile, 'utf8');
    writeFileSync(logFile, original.replace(/"reason":"keyCompromise"|"keyCompromise"/, (m) => m.replace('keyCompromise', 'superseded')));
    assert.notEqual(readFileSync(logFile, 'utf8'), original, 'the test edited an entry');
    const tampered = await dbImport();
    assert.equal(tampered.code, 1, tampered.stderr);
    assert.match(tampered.stderr, /the audit log of .* does not verify \(seq \d+: .*signature does not verify/);
    writeFileSync(logFile, original);

    // A second import finds the target in use: refused, nothing changed.
    const again = await dbImport();
    assert.equal(again.code, 5, again.stderr);
    assert.match(again.stderr, /the target store is not empty \(3 accounts, .*3 certificates, 1 revocations, CRL number \d+, an inventory, \d+ audit entries\)/);
    const [n] = await cluster.sql<{ n: string }>('nixca', 'SELECT count(*) AS n FROM certificates');
    assert.equal(Number(n!.n), 3);
  });

  it('the verification before COMMIT catches what differs after the copy (chain bytes, a count, the CRL number, the inventory) and nothing is imported', async () => {
    const target = await cluster.createDatabase('nixca_verify');
    assert.equal((await runCli(['db', 'migrate', '--store', target], { env: { PATH: process.env.PATH } })).code, 0);
    const p = await openPool({ url: target });
    const snap = await openEmbeddedSnapshot(state);
    try {
      const serial = snap.certificates.at(-1)!.serial;
      // Each change is made inside the import's transaction, after the copy, as a faulty copy would leave it.
      const damage: [string, string, unknown[], RegExp][] = [
        ['one byte of a chain', "UPDATE certificates SET chain_pem = overlay(chain_pem placing 'A' from 40 for 1) || '' WHERE serial = $1 AND substr(chain_pem, 40, 1) <> 'A'", [serial], new RegExp(`the chain of ${serial} differs from the embedded store's`)],
        ['a revocation lost', 'DELETE FROM revocations', [], /revocations: 0 in the database, 1 in the embedded store/],
        ['the CRL number', 'UPDATE crl_number SET n = n + 1', [], /CRL number \d+, expected \d+/],
        ['the inventory', `UPDATE inventory SET data = jsonb_set(data, '{nodes,0,priority}', '1')`, [], /the inventory read back differs from inventory.json/],
      ];
      for (const [what, sql, values, message] of damage) {
        await assert.rejects(importSnapshot(p.pool, snap, { inTransaction: async (c) => { assert.equal((await c.query(sql, values)).rowCount! > 0, true, what); } }), (e: Error & { kind?: string }) => e instanceof ImportError && e.kind === 'check' && message.test(e.message), what);
        const [n] = await cluster.sql<{ n: string }>('nixca_verify', 'SELECT (SELECT count(*) FROM certificates) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM inventory) AS n');
        assert.equal(Number(n!.n), 0, `${what}: nothing committed`);
      }
      // Undamaged, the same import commits.
      assert.equal((await importSnapshot(p.pool, snap)).counts.certificates, snap.certificates.length);
    } finally {
      await snap.close();
      await p.end();
    }
  });

  it('serve on the database downloads an imported certificate byte-identical and revokes another', async () => {
    const pgServe = await startNixca({ port: await freePort(), http01Port, names, stateDir: state, keepState: true, logLevel: 'warn', extraArgs: ['--store', url] });
    stops.unshift(() => pgServe.stop({ keepState: true }));
    const opts = flowOpts(pgServe);
    const port = (u: string) => new URL(u).port;
    // The account key of the first issuance finds its imported account (RFC 8555 §7.3.1) and downloads the certificate.
    const fc = new FlowClient(preps[0]!, opts);
    try {
      await fc.client.createAccount({ termsOfServiceAgreed: true, onlyReturnExisting: true });
      const certUrl = first.order.certificate!.replace(`:${port(first.order.certificate!)}/`, `:${port(opts.directory)}/`);
      const again = String(await fc.client.getCertificate({ ...first.order, certificate: certUrl }));
      assert.equal(again, first.chain, 'byte-identical to what the embedded issuer sent');
    } finally {
      fc.destroy();
    }
    // The third certificate (imported, not revoked yet) is revoked by its account through the new issuer.
    const third = await runCli(['cert', 'list', '--json', '--store', url, '--state', state], { env: { PATH: process.env.PATH } });
    const serials = (JSON.parse(third.stdout) as { serial: string; status: string }[]);
    assert.equal(serials.length, 3, third.stderr);
    const target = serials.find((c) => c.status !== 'revoked' && c.serial !== serialOf(first.chain))!;
    const prep = preps.find((p) => p.name === names[2])!;
    const fc3 = new FlowClient(prep, opts);
    try {
      await fc3.client.createAccount({ termsOfServiceAgreed: true, onlyReturnExisting: true });
      const [row] = await cluster.sql<{ chain_pem: string }>('nixca', 'SELECT chain_pem FROM certificates WHERE serial = $1', [target.serial]);
      await fc3.client.revokeCertificate(splitPem(row!.chain_pem)[0]!, { reason: 4 });
    } finally {
      fc3.destroy();
    }
    const revs = await cluster.sql<{ serial: string }>('nixca', 'SELECT serial FROM revocations ORDER BY seq');
    assert.deepEqual(revs.map((r) => r.serial), [revokedByOperator, target.serial]);
  });
});
