// The dashboard app through fastify.inject: security headers on every response, escaping of
// hostile values, read-only methods, the views and the JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDashboardApp, CONTENT_SECURITY_POLICY } from '../../src/dashboard/http/app.js';
import { inventory, snapshot } from './fixtures.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const PAGES = ['/', '/certificates', '/keys', '/audit'];

function app(s = snapshot(NOW), viewer: () => Promise<string | null> = async () => null) {
  return buildDashboardApp({ snapshot: async () => s, viewer, now: () => NOW });
}

test('every response carries the strict CSP and the other security headers', async (t) => {
  const a = app();
  t.after(() => a.close());
  for (const url of [...PAGES, '/api/status.json', '/assets/dashboard.js', '/assets/time-left.js', '/assets/dashboard.css', '/nope', '/?fragment=main']) {
    const r = await a.inject({ method: 'GET', url });
    assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY, url);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(r.headers['cache-control'], 'no-store', url);
    assert.equal(r.headers['x-frame-options'], 'DENY', url);
  }
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|https?:|\*/);
});

test('pages have no inline script or style: the CSP needs no nonce', async (t) => {
  const a = app();
  t.after(() => a.close());
  for (const url of PAGES) {
    const body = (await a.inject({ method: 'GET', url })).body;
    assert.equal(body.match(/<script\b/g)?.length, 1, url);
    assert.match(body, /<script type="module" src="\/assets\/dashboard.js"><\/script>/);
    assert.doesNotMatch(body, /<style\b|\sstyle=|\son[a-z]+=/i, url);
  }
});

test('only GET and HEAD: anything that could change state is 405', async (t) => {
  const a = app();
  t.after(() => a.close());
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
    const r = await a.inject({ method, url: '/', payload: 'x=1' });
    assert.equal(r.statusCode, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.ok(r.headers['content-security-policy']);
  }
  assert.equal((await a.inject({ method: 'HEAD', url: '/' })).statusCode, 200);
});

test('a hostile value that reached the inventory (hand-edited file) renders as text on every page', async (t) => {
  const evil = '<script>alert(1)</script>';
  const inv = inventory(['alpha', 'bravo']);
  inv.nodes[0]!.name = evil;
  inv.nodes[0]!.dnsNames = [`"><img src=x onerror=alert(2)>.n3x.test`];
  inv.signingKeys[0]!.node = evil;
  inv.signingKeys[0]!.name = `k'><svg onload=alert(3)>`;
  const a = app(snapshot(NOW, inv));
  t.after(() => a.close());
  for (const url of [...PAGES, `/certificates?node=${encodeURIComponent(evil)}`]) {
    const body = (await a.inject({ method: 'GET', url })).body;
    assert.ok(!body.includes(evil), `${url} contains the raw script`);
    assert.ok(!/<img src=x|<svg onload/.test(body), `${url} contains a raw tag`);
  }
  const overview = (await a.inject({ method: 'GET', url: '/' })).body;
  assert.ok(overview.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the name is shown, escaped');
  const json = await a.inject({ method: 'GET', url: '/api/status.json' });
  assert.match(String(json.headers['content-type']), /^application\/json/);
  assert.equal(JSON.parse(json.body).nodes.find((n: { name: string }) => n.name === evil).name, evil);
});

test('the overview marks the revoked node, shows time left, problems first, and one timeline lane per node', async (t) => {
  const a = app();
  t.after(() => a.close());
  const body = (await a.inject({ method: 'GET', url: '/' })).body;
  const rows = [...body.matchAll(/<tr class="node ([^"]*)" data-node="([^"]+)"/g)].map((m) => ({ cls: m[1]!, node: m[2]! }));
  assert.deepEqual(rows.map((r) => r.node), ['bravo', 'alpha'], 'the node with an error comes first');
  assert.match(rows[0]!.cls, /revoked/);
  assert.doesNotMatch(rows[1]!.cls, /revoked/);
  assert.match(body, /data-node="bravo"[\s\S]*?REVOKED/);
  assert.match(body, /<td class="time-left" data-not-after="[^"]+">6d 0h<\/td>/);
  assert.equal(body.match(/<g class="lane" data-node=/g)?.length, 2);
  assert.match(body, /class="now"/);
});

test('?fragment=main returns only the refreshed part; filters apply to it', async (t) => {
  const a = app();
  t.after(() => a.close());
  const frag = (await a.inject({ method: 'GET', url: '/certificates?status=revoked&fragment=main' })).body;
  assert.doesNotMatch(frag, /<html|<head|<script/);
  assert.equal(frag.match(/<tr class="cert-row/g)?.length, 1);
  assert.match(frag, /cert-row cert-revoked/);
  const valid = (await a.inject({ method: 'GET', url: '/certificates?status=valid&expiring=7' })).body;
  assert.equal(valid.match(/<tr class="cert-row/g)?.length, 1);
  const bogus = (await a.inject({ method: 'GET', url: '/certificates?status=%3Cx%3E&expiring=9999' })).body;
  assert.equal(bogus.match(/<tr class="cert-row/g)?.length, 2, 'unknown filter values are ignored');
});

test('the JSON is shaped like status --json, plus the dashboard sections; no secret fields', async (t) => {
  const a = app();
  t.after(() => a.close());
  const j = JSON.parse((await a.inject({ method: 'GET', url: '/api/status.json' })).body);
  for (const k of ['generatedAt', 'nodes', 'orphanCertificates', 'ok', 'probe', 'certificates', 'keyRotation', 'audit', 'crl', 'ari']) assert.ok(k in j, k);
  assert.equal(j.ok, false);
  assert.equal(j.crl.crlNumber, 3);
  assert.doesNotMatch(JSON.stringify(j), /macKey|secretKeyPath|passphrase|PRIVATE KEY|c2VjcmV0LW1hYy1rZXktbmV2ZXItc2hvd24/i);
  for (const url of PAGES) assert.doesNotMatch((await a.inject({ method: 'GET', url })).body, /c2VjcmV0LW1hYy1rZXktbmV2ZXItc2hvd24|\/run\/keys\/secret/, url);
});

test('a view that cannot be recorded is refused (503), with the headers', async (t) => {
  const a = app(snapshot(NOW), async () => {
    throw new Error('audit log not writable');
  });
  t.after(() => a.close());
  const r = await a.inject({ method: 'GET', url: '/' });
  assert.equal(r.statusCode, 503);
  assert.ok(r.headers['content-security-policy']);
});
