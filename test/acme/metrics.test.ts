// /metrics (Prometheus text, prom-client, one Registry per app) and /health through fastify inject,
// after a real flow: issuances, a failed validation, problems, a revocation, a pending order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { issuerCrlSigner } from '../../src/acme/crl.js';
import { NODE_A, NODE_B, BASE_URL, testEnv } from './helpers/deps.js';
import { firstCertificate, injectTransport, TestAcmeClient } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';

/** Parses the Prometheus text format into "name{labels}" → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('/metrics and /health', () => {
  it('count what happened, per app (two apps in one process), with store sizes and per-node expiry', async () => {
    const env = await testEnv();
    const other = await testEnv();
    const intermediate = { notBefore: env.ca.intermediate.notBefore, notAfter: env.ca.intermediate.notAfter };
    const app = buildAcmeApp({ ...env.deps, intermediate, crl: { signer: issuerCrlSigner(env.ca.issuer) }, processMetrics: true });
    const app2 = buildAcmeApp({ ...other.deps, processMetrics: true });
    try {
      const a = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      const b = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await a.newAccount({ eab: env.eab[NODE_A.name] });
      await b.newAccount({ eab: env.eab[NODE_B.name] });
      await a.issue([NODE_A.dns[0]!]);
      const newest = firstCertificate((await a.issue([NODE_A.dns[1]!])).chainPem);
      const bCert = firstCertificate((await b.issue([NODE_B.dns[0]!])).chainPem);
      // A few problems.
      assert.equal((await a.newOrder([NODE_A.dns[0]!, 'x.' + NODE_A.dns[0]!])).status, 400, 'x.cache… is not node A\'s: rejectedIdentifier');
      assert.equal((await a.newOrder(['cache.nuc-2.test'])).status, 400);
      const pending = await a.post(a.directory.newOrder!, { identifiers: [{ type: 'dns', value: NODE_A.dns[0]! }], notAfter: 'soon' });
      assert.equal(pending.status, 400);
      assert.equal((await b.post(b.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(bCert.rawData)), reason: 1 })).status, 200);
      // Validation failure: a fresh account on node A has no reusable authorization.
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      env.validator.decide = () => ({ valid: false, problem: { type: 'incorrectResponse', detail: 'wrong key authorization' } });
      const bad = await c.newOrder([NODE_A.dns[0]!]);
      const authz = (await c.post((bad.json().authorizations as string[])[0]!, '')).json<{ challenges: Array<{ type: string; url: string }> }>();
      await c.post(authz.challenges.find((x) => x.type === 'http-01')!.url, {});
      await c.poll((bad.json().authorizations as string[])[0]!, (x) => x.status !== 'pending');
      env.validator.decide = () => ({ valid: true });
      // One order left pending (in flight).
      const d = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await d.newAccount({ eab: env.eab[NODE_B.name] });
      assert.equal((await d.newOrder([NODE_B.dns[0]!])).status, 201);

      const res = await app.inject({ method: 'GET', url: '/acme/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const m = parseMetrics(res.body);
      assert.equal(m.get('nixca_acme_certificates_issued_total'), 3);
      assert.equal(m.get('nixca_acme_certificates_revoked_total{reason="keyCompromise"}'), 1);
      assert.equal(m.get('nixca_acme_accounts_created_total'), 4);
      assert.equal(m.get('nixca_acme_problems_total{type="rejectedIdentifier",endpoint="/acme/new-order"}'), 2);
      assert.equal(m.get('nixca_acme_problems_total{type="malformed",endpoint="/acme/new-order"}'), 1);
      assert.equal(m.get('nixca_acme_validations_total{challenge="http-01",result="valid"}'), 3);
      assert.equal(m.get('nixca_acme_validations_total{challenge="http-01",result="incorrectResponse"}'), 1);
      assert.equal(m.get('nixca_acme_validation_duration_seconds_count{challenge="http-01"}'), 4);
      assert.equal(m.get('nixca_acme_orders_in_flight'), 1);
      assert.equal(m.get('nixca_store_accounts'), 4);
      assert.equal(m.get('nixca_store_certificates'), 3);
      assert.equal(m.get('nixca_store_revocations'), 1);
      assert.ok(m.get('nixca_store_ledger_bytes')! > 1000);
      assert.equal(m.get(`nixca_node_certificate_expiry_timestamp_seconds{node="${NODE_A.name}"}`), newest.notAfter.getTime() / 1000);
      assert.equal(m.get(`nixca_node_certificate_expiry_timestamp_seconds{node="${NODE_B.name}"}`), bCert.notAfter.getTime() / 1000);
      assert.equal(m.get('nixca_intermediate_expiry_timestamp_seconds'), env.ca.intermediate.notAfter.getTime() / 1000);
      assert.ok(m.get('nixca_crl_number')! >= 2, 'a CRL at start and one after the revocation');
      assert.ok(m.has('nixca_process_cpu_user_seconds_total'), 'process metrics');

      // The other app counts only its own (a per-app Registry).
      const m2 = parseMetrics((await app2.inject({ method: 'GET', url: '/acme/metrics' })).body);
      assert.equal(m2.get('nixca_acme_certificates_issued_total'), 0);
      assert.equal(m2.get('nixca_store_certificates'), 0);
    } finally {
      await app.close();
      await app2.close();
      await env.cleanup();
      await other.cleanup();
    }
  });

  it('/health: 200 with the intermediate\'s days left; 503 when the store cannot write or the intermediate expired', async () => {
    const env = await testEnv();
    const intermediate = { notBefore: env.ca.intermediate.notBefore, notAfter: env.ca.intermediate.notAfter };
    const app = buildAcmeApp({ ...env.deps, intermediate, crl: { signer: issuerCrlSigner(env.ca.issuer) } });
    const expired = buildAcmeApp({ ...env.deps, intermediate: { notBefore: new Date(0), notAfter: new Date(Date.now() - 1000) }, metrics: false });
    try {
      const ok = await app.inject({ method: 'GET', url: '/acme/health' });
      assert.equal(ok.statusCode, 200, ok.body);
      const report = ok.json();
      assert.equal(report.status, 'ok');
      assert.equal(report.checks.store.ok, true);
      const days = (env.ca.intermediate.notAfter.getTime() - env.clock.now.getTime()) / 86_400_000;
      assert.ok(Math.abs(report.checks.intermediate.daysUntilExpiry - days) < 0.02, `${report.checks.intermediate.daysUntilExpiry} vs ${days}`);
      assert.equal(report.checks.crl.ok, true);

      const old = await expired.inject({ method: 'GET', url: '/acme/health' });
      assert.equal(old.statusCode, 503);
      assert.equal(old.json().checks.intermediate.ok, false);
      assert.equal((await expired.inject({ method: 'GET', url: '/acme/metrics' })).statusCode, 404, 'metrics: false');

      // The store's directory stops taking writes (here: replaced by a file): 503 with the reason.
      const acmeDir = join(env.dir, 'acme');
      await rename(acmeDir, acmeDir + '.away');
      await writeFile(acmeDir, 'not a directory');
      try {
        const broken = await app.inject({ method: 'GET', url: '/acme/health' });
        assert.equal(broken.statusCode, 503);
        assert.equal(broken.json().checks.store.ok, false);
        assert.match(broken.json().checks.store.detail, /ENOTDIR/);
      } finally {
        await rm(acmeDir);
        await rename(acmeDir + '.away', acmeDir);
      }
      assert.equal((await app.inject({ method: 'GET', url: '/acme/health' })).statusCode, 200);
    } finally {
      await app.close();
      await expired.close();
      await env.cleanup();
    }
  });
});
