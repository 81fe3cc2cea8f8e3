// The dashboard listener with operator certificates (the rule for a non-loopback address, forced
// on 127.0.0.1 with --dashboard-require-client-cert because tests never leave loopback): no client
// certificate and a foreign one fail the TLS handshake; an ACME leaf of the same intermediate
// (serverAuth) gets the connection closed without an HTTP response; an operator certificate works
// and the view is in the audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPrivateKeyPem, generateKeyPair } from '../../src/ca/keys.js';
import { issueOperatorCertificate } from '../../src/ca/operator.js';
import { readAudit } from '../../src/audit/log.js';
import { buildDashboardApp } from '../../src/dashboard/http/app.js';
import { dashboardAuthFor, isLoopbackHost, OperatorGate, startDashboardServer } from '../../src/dashboard/http/server.js';
import { ViewAudit } from '../../src/dashboard/viewers.js';
import { testLeaf, testPki, type TestPki } from '../audit/pki.js';
import { snapshot } from './fixtures.js';

test('the listener rule comes from the configured address', () => {
  for (const h of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
    assert.equal(isLoopbackHost(h), true, h);
    assert.equal(dashboardAuthFor(h), 'none-loopback', h);
    assert.equal(dashboardAuthFor(h, true), 'operator-certificate', h);
  }
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'fe80::1', 'dash.n3x.internal', '128.0.0.1', '::ffff:10.0.0.1']) {
    assert.equal(dashboardAuthFor(h), 'operator-certificate', h);
  }
});

async function operator(pki: TestPki, name: string) {
  const keys = await generateKeyPair('ECDSA-P256');
  const cert = await issueOperatorCertificate(pki.intermediate, { name, publicKey: keys.publicKey, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
  return { cert: cert.toString('pem') + '\n' + pki.intermediate.certificate.toString('pem'), key: await exportPrivateKeyPem(keys.privateKey) };
}

function get(port: number, ca: string, client?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', servername: 'localhost', ca, ...client, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('operator certificates on the dashboard listener', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nixca-dash-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pki = await testPki(['n3x.test', 'localhost']);
  const server = await testLeaf(pki, ['localhost']);
  const rootPem = pki.root.toString('pem');
  const interPem = pki.intermediate.certificate.toString('pem');
  const now = () => new Date();
  const gate = new OperatorGate(pki.intermediate.certificate, now);
  const views = new ViewAudit(dir, now);
  const app = buildDashboardApp({
    snapshot: async () => snapshot(new Date()),
    async viewer(req) {
      const look = await gate.operatorOf(req);
      await views.seen(look);
      return look.name;
    },
  });
  const auth = dashboardAuthFor('127.0.0.1', true);
  const running = await startDashboardServer(app, { host: '127.0.0.1', port: 0, auth, tls: { key: server.keyPem, cert: server.cert.toString('pem') + '\n' + interPem }, clientCa: [rootPem, interPem], intermediate: pki.intermediate.certificate, now }, gate);
  t.after(() => running.close());
  const port = running.address.port;

  // No certificate: the handshake fails (TLS 1.3 reports the server's alert on the first read).
  await assert.rejects(get(port, rootPem), (err: NodeJS.ErrnoException) => /certificate required|alert|ECONNRESET|socket hang up|handshake/i.test(`${err.code} ${err.message}`));
  // An operator certificate of another PKI: the chain does not verify, the handshake fails.
  const stranger = await operator(await testPki(['n3x.test']), 'mallory');
  await assert.rejects(get(port, rootPem, stranger), (err: NodeJS.ErrnoException) => /unknown ca|alert|ECONNRESET|socket hang up|certificate/i.test(`${err.code} ${err.message}`));
  // An ACME leaf of the same intermediate (serverAuth + clientAuth): closed before any HTTP answer.
  const leaf = await testLeaf(pki, ['cache.alpha.n3x.test']);
  await assert.rejects(get(port, rootPem, { cert: leaf.cert.toString('pem') + '\n' + interPem, key: leaf.keyPem }), (err: NodeJS.ErrnoException) => /ECONNRESET|socket hang up|EPIPE/i.test(`${err.code} ${err.message}`));
  // The operator.
  const alice = await operator(pki, 'alice');
  const ok = await get(port, rootPem, alice);
  assert.equal(ok.status, 200);
  assert.match(ok.body, /signed in as <strong>alice<\/strong>/);
  const again = await get(port, rootPem, alice);
  assert.equal(again.status, 200);
  const viewed = (await readAudit(dir)).records.filter((r) => r.type === 'dashboard.viewed');
  assert.equal(viewed.length, 1, 'one entry per operator certificate per hour, not one per request');
  assert.equal(viewed[0]!.subject, 'alice');
  assert.equal(viewed.filter((r) => r.subject === 'mallory').length, 0);
});
