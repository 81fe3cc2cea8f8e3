// End-to-end protocol flows through fastify inject, with a real CA, the real store on a temp dir,
// and a fake ChallengeValidator (unit level; real validators and clients live in test/interop).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import type { FastifyInstance } from 'fastify';
import { BASE_URL, NODE_A, NODE_B, testEnv, type TestEnv } from './helpers/deps.js';
import { firstCertificate, injectTransport, TestAcmeClient, testCsr } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';
const PROBLEM = 'application/problem+json';

describe('ACME flows (RFC 8555 §7)', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let client: TestAcmeClient;
  before(async () => {
    env = await testEnv();
    app = buildAcmeApp(env.deps);
    await app.ready();
    client = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    const res = await client.newAccount({ eab: env.eab[NODE_A.name] });
    assert.equal(res.status, 201, res.body);
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });

  it('directory advertises exactly what is implemented, EAB required', async () => {
    const res = await app.inject({ method: 'GET', url: '/acme/directory' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const d = res.json();
    assert.deepEqual(Object.keys(d).sort(), ['keyChange', 'meta', 'newAccount', 'newNonce', 'newOrder', 'renewalInfo', 'revokeCert']);
    assert.equal(d.meta.externalAccountRequired, true);
    assert.equal(d.newNonce, BASE_URL + 'new-nonce');
    assert.equal(res.headers.link, undefined, 'no Link index on the directory itself');
  });

  it('newNonce: HEAD 200 and GET 204 with Replay-Nonce, no-store, Link index (§7.2)', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/acme/new-nonce' });
    assert.equal(head.statusCode, 200);
    const get = await app.inject({ method: 'GET', url: '/acme/new-nonce' });
    assert.equal(get.statusCode, 204);
    for (const r of [head, get]) {
      assert.match(String(r.headers['replay-nonce']), /^[A-Za-z0-9_-]{22}$/);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(r.headers.link, `<${DIR_URL}>;rel="index"`);
    }
    assert.notEqual(head.headers['replay-nonce'], get.headers['replay-nonce']);
  });

  it('issues a certificate for the node\'s names: order → authz → challenge → finalize → download', async () => {
    const { order, chainPem, certResponse, orderUrl } = await client.issue(NODE_A.dns);
    assert.equal(order.status, 'valid');
    assert.equal(certResponse.status, 200);
    assert.equal(certResponse.headers['content-type'], 'application/pem-certificate-chain');
    assert.equal(chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf + intermediate');
    const leaf = firstCertificate(chainPem);
    const sans = leaf.getExtension('2.5.29.17') as unknown as { names: { items: Array<{ value: string }> } };
    assert.deepEqual(sans.names.items.map((n) => n.value).sort(), [...NODE_A.dns].sort());
    assert.ok(await leaf.verify({ publicKey: env.ca.intermediate.publicKey, signatureOnly: true }));
    // Default lifetime 7 days, backdated a few minutes.
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    assert.ok(lifetime >= 7 * 86_400_000 && lifetime <= 7 * 86_400_000 + 10 * 60_000, `lifetime ${lifetime}`);
    // Committed to the store with node, names, account.
    const serial = leaf.serialNumber.toLowerCase().replace(/^(00)+/, '');
    const rec = await env.store.getCertificate(serial);
    assert.equal(rec?.node, NODE_A.name);
    assert.deepEqual(rec?.names, [...NODE_A.dns].sort());
    assert.equal(rec?.accountId, client.kid!.split('/').pop());
    // §7.4: finalize of an order that is not ready, a valid one included, is orderNotReady (403);
    // nothing is issued a second time and the order keeps its certificate.
    const { der } = await testCsr(NODE_A.dns);
    const again = await client.post(order.finalize as string, { csr: base64url.encode(der) });
    assert.equal(again.status, 403, again.body);
    assert.equal(again.json().type, 'urn:ietf:params:acme:error:orderNotReady');
    assert.equal((await env.store.listCertificates({ accountId: client.kid!.split('/').pop()! })).length, 1);
    const fetched = await client.post(orderUrl, '');
    assert.equal(fetched.json().status, 'valid');
    assert.equal(fetched.json().certificate, order.certificate);
    assert.ok(fetched.json().expires, 'valid orders carry expires (§7.1.3)');
  });

  it('GET on a POST-only resource is 405 malformed with a nonce and Link index (§6.3)', async () => {
    const res = await app.inject({ method: 'GET', url: '/acme/new-order' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.json().type, 'urn:ietf:params:acme:error:malformed');
    assert.equal(res.json().status, 405);
    assert.ok(res.headers['replay-nonce']);
    assert.equal(res.headers.link, `<${DIR_URL}>;rel="index"`);
  });

  it('another node\'s name is rejectedIdentifier with a subproblem per identifier', async () => {
    const res = await client.newOrder([NODE_A.dns[0]!, NODE_B.dns[0]!, '*.nuc-1.test', '10.0.0.1']);
    assert.equal(res.status, 400);
    const p = res.json<{ type: string; subproblems: Array<{ type: string; identifier: { value: string } }> }>();
    assert.equal(p.type, 'urn:ietf:params:acme:error:rejectedIdentifier');
    assert.deepEqual(p.subproblems.map((s) => s.identifier.value).sort(), ['*.nuc-1.test', '10.0.0.1', NODE_B.dns[0]].sort());
    assert.ok(p.subproblems.every((s) => s.type === 'urn:ietf:params:acme:error:rejectedIdentifier'));
    assert.ok(!('identifier' in p), 'identifier never at top level (§6.7.1)');
  });
});

describe('finalize on a store whose instance keeps copies (a shared store)', () => {
  it('orderNotReady is decided on the stored authorizations, not on a copy that lags another instance', async () => {
    const e = await testEnv();
    const app = buildAcmeApp(e.deps);
    await app.ready();
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      assert.equal((await c.newAccount({ eab: e.eab[NODE_A.name] })).status, 201);
      const { url, body } = await c.readyOrder([NODE_A.dns[0]!]);
      assert.equal(body.status, 'ready');
      // As an instance of a shared store whose copy predates another instance's validation: every
      // read that may answer from a copy says pending; `current` reads see the stored record.
      const store = e.store;
      const original = store.getAuthorization.bind(store);
      const stale: string[] = [];
      store.getAuthorization = async (id, opts) => {
        const a = await original(id, opts);
        if (!a || opts?.current) return a;
        stale.push(id);
        return { ...a, challenges: a.challenges.map((x) => ({ ...x, status: 'pending' as const, validated: undefined })) };
      };
      try {
        const { der } = await testCsr([NODE_A.dns[0]!]);
        const fin = await c.post(body.finalize as string, { csr: base64url.encode(der) });
        assert.equal(fin.status, 200, fin.body);
        assert.equal(fin.json().status, 'valid');
        assert.ok(stale.length > 0, 'the copy was consulted first');
      } finally {
        store.getAuthorization = original;
      }
      assert.equal((await c.post(url, '')).json().status, 'valid');
    } finally {
      await app.close();
      await e.cleanup();
    }
  });
});
