// Restarts, EAB-optional policy, other account key types, nonce rules, and what the logs never say.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { NonceStore } from '../../src/acme/nonces.js';
import { BASE_URL, NODE_A, NODE_B, NODE_SUFFIX, testEnv } from './helpers/deps.js';
import { firstCertificate, injectTransport, TestAcmeClient, testCsr } from './helpers/client.js';
import { issuerCrlSigner } from '../../src/acme/crl.js';
import { exportPrivateKeyPem } from '../../src/ca/keys.js';
import { openAcmeStore } from '../../src/store/acme.js';

const DIR_URL = BASE_URL + 'directory';

describe('lifecycle', () => {
  it('a restart in the middle of an order: the client completes against the new process', async () => {
    const env = await testEnv();
    // The first process dies with the challenge still being validated (a validator that hangs).
    env.validator.decide = () => new Promise(() => undefined);
    const app1 = buildAcmeApp(env.deps);
    const c = await TestAcmeClient.create(injectTransport(app1), DIR_URL);
    await c.newAccount({ eab: env.eab[NODE_A.name] });
    const res = await c.newOrder([NODE_A.dns[0]!]);
    const orderUrl = String(res.headers.location);
    const authzUrl = (res.json().authorizations as string[])[0]!;
    const ch = (await c.post(authzUrl, '')).json<{ challenges: Array<{ type: string; url: string }> }>().challenges.find((x) => x.type === 'http-01')!;
    assert.equal((await c.post(ch.url, {})).json().status, 'processing');
    await app1.close();
    await env.store.close();

    const store = await openAcmeStore(env.dir);
    env.validator.decide = () => ({ valid: true });
    const app2 = buildAcmeApp({ ...env.deps, store });
    try {
      const c2 = new TestAcmeClient(injectTransport(app2), DIR_URL, c.key);
      c2.directory = c.directory;
      c2.kid = c.kid;
      c2.nonces.push(...c.nonces); // stale nonces from the dead process: badNonce, then a retry
      // Reading the authorization resumes the interrupted validation.
      const authz = await c2.poll(authzUrl, (a) => a.status !== 'pending');
      assert.equal(authz.status, 'valid');
      const order = await c2.poll(orderUrl, (o) => o.status === 'ready');
      const { der } = await testCsr([NODE_A.dns[0]!]);
      const fin = await c2.post(order.finalize as string, { csr: base64url.encode(der) });
      assert.equal(fin.json().status, 'valid', fin.body);
      assert.equal((await c2.post(fin.json().certificate as string, '')).status, 200);
    } finally {
      await app2.close();
      await store.close();
      await env.cleanup();
    }
  });

  it('a second server on a store another process writes is refused (AcmeSetupError, io: a locked store), before anything is served', async () => {
    const env = await testEnv();
    const second = await openAcmeStore(env.dir);
    try {
      assert.equal(second.readOnly, true, 'the first store holds the writer lock');
      assert.throws(() => buildAcmeApp({ ...env.deps, store: second }), (err: Error & { kind?: string }) => {
        assert.equal(err.name, 'AcmeSetupError');
        assert.equal(err.kind, 'io');
        assert.match(err.message, /read-only/);
        return true;
      });
    } finally {
      await second.close();
      await env.cleanup();
    }
  });

  it('challengeWaitMs: the challenge response waits for a quick validation (valid at once, recorded with one write) and answers processing with Retry-After for a slow one (recorded processing since its start)', async () => {
    const env = await testEnv({ challengeWaitMs: 300 });
    // Every authorization the store writes, as the statuses of its challenges.
    const writes: string[] = [];
    const update = env.store.updateAuthorization.bind(env.store);
    env.store.updateAuthorization = async (id, fn) => {
      const r = await update(id, fn);
      if (r) writes.push(r.challenges.map((x) => x.status).join(','));
      return r;
    };
    const app = buildAcmeApp(env.deps);
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      env.validator.decide = () => new Promise((resolve) => setTimeout(() => resolve({ valid: true }), 50));
      const quick = await c.http01(NODE_A.dns[0]!);
      const fast = await c.post(quick.challengeUrl, {});
      assert.equal(fast.json().status, 'valid', fast.body);
      assert.equal(fast.headers['retry-after'], undefined);
      assert.equal((await c.post(quick.authzUrl, '')).json().status, 'valid');
      assert.deepEqual(writes, ['valid,pending'], 'pending → valid in one write, never processing');
      // A quick failure is final too, with its error.
      env.validator.decide = async () => ({ valid: false, problem: { type: 'unauthorized', detail: 'wrong key authorization' } });
      const failing = await c.http01(NODE_A.dns[1]!);
      const failed = await c.post(failing.challengeUrl, {});
      assert.equal(failed.json().status, 'invalid', failed.body);
      assert.equal(failed.json<{ error: { type: string } }>().error.type, 'urn:ietf:params:acme:error:unauthorized');
      assert.deepEqual(writes.slice(1), ['invalid,pending']);
      writes.length = 0;

      let release!: () => void;
      // The test clock moves a minute while this validation runs: its processingSince shows which
      // moment was recorded, the start or the end of the wait.
      const started = env.clock.now;
      env.validator.decide = () => {
        env.clock.now = new Date(started.getTime() + 60_000);
        return new Promise((resolve) => (release = () => resolve({ valid: true })));
      };
      // Another account: the first one's valid authorization would be reused (§7.1.3).
      const c2 = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c2.newAccount({ eab: env.eab[NODE_A.name] });
      const slowCh = await c2.http01(NODE_A.dns[0]!);
      const t0 = Date.now();
      const slow = await c2.post(slowCh.challengeUrl, {});
      const waited = Date.now() - t0;
      assert.equal(slow.json().status, 'processing');
      assert.equal(slow.headers['retry-after'], '1');
      assert.ok(waited >= 290 && waited < 2000, `waited ${waited} ms`);
      const stored = await env.store.getAuthorization(slowCh.authzUrl.slice(slowCh.authzUrl.lastIndexOf('/') + 1));
      assert.equal(stored!.challenges.find((x) => x.type === 'http-01')!.processingSince, started.toISOString(), 'processing since the validation started, not since the wait ended');
      // Still asynchronous: it completes after the response.
      release();
      assert.equal((await c2.poll(slowCh.challengeUrl, (x) => x.status !== 'processing')).status, 'valid');
      for (let i = 0; i < 100 && writes.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(writes, ['processing,pending', 'valid,pending']);
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('a validator that never answers times out: challenge invalid with a connection problem', async () => {
    const env = await testEnv({ validationTimeoutMs: 50 });
    env.validator.decide = () => new Promise(() => undefined);
    const app = buildAcmeApp(env.deps);
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const res = await c.newOrder([NODE_A.dns[0]!]);
      const authzUrl = (res.json().authorizations as string[])[0]!;
      const ch = (await c.post(authzUrl, '')).json<{ challenges: Array<{ type: string; url: string }> }>().challenges[0]!;
      await c.post(ch.url, {});
      const done = await c.poll(ch.url, (x) => x.status !== 'processing');
      assert.equal(done.status, 'invalid');
      assert.equal((done.error as { type: string }).type, 'urn:ietf:params:acme:error:connection');
      assert.match((done.error as { detail: string }).detail, /timed out/);
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('eab optional: accounts without EAB may order inventory names, not others; one node per order', async () => {
    const env = await testEnv({ eabRequired: false });
    const app = buildAcmeApp(env.deps);
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL, 'EdDSA');
      assert.equal(c.directory.meta?.externalAccountRequired, false);
      assert.equal((await c.newAccount()).status, 201);
      const r = await c.issue(['x1.' + NODE_SUFFIX.suffix]);
      assert.equal(r.order.status, 'valid');
      assert.equal((await c.newOrder(['not-in.inventory.test'])).json().type, 'urn:ietf:params:acme:error:rejectedIdentifier');
      const mixed = await c.newOrder([NODE_A.dns[0]!, NODE_B.dns[0]!]);
      assert.equal(mixed.status, 400);
      assert.equal(mixed.json<{ subproblems: unknown[] }>().subproblems.length, 1);
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('RS256 and ES384 account keys work end to end', async () => {
    const env = await testEnv();
    const app = buildAcmeApp(env.deps);
    try {
      for (const alg of ['RS256', 'ES384'] as const) {
        const c = await TestAcmeClient.create(injectTransport(app), DIR_URL, alg);
        assert.equal((await c.newAccount({ eab: env.eab[NODE_B.name] })).status, 201);
        assert.equal((await c.issue([NODE_B.dns[0]!])).order.status, 'valid');
      }
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('events report issuance (with the AKI for ARI) and revocation; a signer that deviates issues nothing', async () => {
    const issued: Array<{ serial: string; akiKeyId?: string }> = [];
    const revoked: number[] = [];
    const env = await testEnv({
      events: { certificateIssued: (c) => void issued.push(c), certificateRevoked: (r) => void revoked.push(r.reason) },
    });
    const realSigner = env.deps.signer;
    let shorten = false;
    const app = buildAcmeApp({
      ...env.deps,
      signer: {
        signLeaf: (req) => realSigner.signLeaf(shorten ? { ...req, notAfter: new Date(req.notAfter.getTime() - 60_000) } : req),
      },
    });
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const r = await c.issue([NODE_A.dns[0]!]);
      assert.equal(issued.length, 1);
      assert.match(issued[0]!.akiKeyId ?? '', /^[0-9a-f]{40}$/);
      const der = r.chainPem.split('-----END CERTIFICATE-----')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, '');
      assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(Buffer.from(der, 'base64')), reason: 5 })).status, 200);
      assert.deepEqual(revoked, [5]);
      shorten = true;
      const before = (await env.store.listCertificates()).length;
      const { body } = await c.readyOrder([NODE_A.dns[1]!]);
      const { der: csr } = await testCsr([NODE_A.dns[1]!]);
      const fin = await c.post(body.finalize as string, { csr: base64url.encode(csr) });
      assert.equal(fin.status, 500);
      assert.equal(fin.json().type, 'urn:ietf:params:acme:error:serverInternal');
      assert.equal((await env.store.listCertificates()).length, before, 'nothing committed');
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('clients that retry badNonce complete even when valid nonces are refused (Pebble NONCEREJECT)', async () => {
    let n = 0;
    // Deterministic: every third redemption of a valid nonce is refused.
    const env = await testEnv({ nonces: { rejectRate: 0.5, random: () => (n++ % 3 === 0 ? 0 : 0.99) } });
    const app = buildAcmeApp(env.deps);
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const r = await c.issue([NODE_A.dns[0]!]);
      assert.equal(r.order.status, 'valid');
      assert.ok(c.badNonceRetries >= 3, `retried ${c.badNonceRetries} times`);
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('nonces: single use, expiring, bounded, and the reject-rate trick', () => {
    let t = 0;
    const n = new NonceStore({ lifetimeMs: 1000, max: 3, now: () => t });
    const a = n.issue();
    assert.equal(n.redeem(a), 'ok');
    assert.equal(n.redeem(a), 'unknown');
    const b = n.issue();
    t = 1001;
    assert.equal(n.redeem(b), 'unknown', 'expired');
    const many = [n.issue(), n.issue(), n.issue(), n.issue()];
    assert.ok(n.size <= 3, 'bounded');
    assert.equal(n.redeem(many[0]), 'unknown', 'the oldest is forgotten first');
    assert.equal(n.redeem(many[3]), 'ok');
    assert.equal(n.redeem('bad nonce!'), 'malformed');
    const strict = new NonceStore({ rejectRate: 1 });
    assert.equal(strict.redeem(strict.issue()), 'unknown');
  });

  it('logs carry method, URL and User-Agent but never EAB keys, JWS material, private keys or CSRs (full flow, EAB, revocation)', async () => {
    let logged = '';
    const stream = new Writable({ write: (chunk, _enc, cb) => ((logged += String(chunk)), cb()) });
    const env = await testEnv({ logger: { level: 'trace', stream } as never });
    const app = buildAcmeApp({ ...env.deps, crl: { signer: issuerCrlSigner(env.ca.issuer) } });
    // Every JWS the client sends (protected header, payload, signature), to look for in the logs.
    const sent: Array<{ protected: string; payload: string; signature: string }> = [];
    const inject = injectTransport(app);
    try {
      const c = await TestAcmeClient.create(async (req) => {
        if (req.body) sent.push(JSON.parse(req.body) as (typeof sent)[number]);
        return inject(req);
      }, DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const r = await c.issue([NODE_A.dns[0]!]);
      const leafDer = firstCertificate(r.chainPem).rawData;
      assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(leafDer)), reason: 1 })).status, 200);
      await c.post(c.directory.revokeCert!, { certificate: 'AAAA' });
      await app.inject({ method: 'GET', url: '/acme/metrics' });
      await app.inject({ method: 'GET', url: '/acme/health' });
      assert.match(logged, /nixca-test-client/);
      assert.match(logged, /certificate issued/);
      assert.match(logged, /certificate revoked/);
      assert.match(logged, /CRL published/);
      assert.ok(!logged.includes(env.eab[NODE_A.name]!.macKey), 'EAB MAC key');
      assert.ok(sent.length > 8);
      for (const jws of sent) {
        assert.ok(!logged.includes(jws.signature), 'a JWS signature');
        assert.ok(!logged.includes(jws.protected), 'a JWS protected header');
        if (jws.payload.length > 16) assert.ok(!logged.includes(jws.payload), 'a JWS payload (EAB, CSR, certificate)');
      }
      // The EAB inner JWS (inside newAccount's payload) and its signature.
      const eabJws = await c.eabFor(env.eab[NODE_A.name]!);
      assert.ok(!logged.includes(eabJws.signature));
      assert.ok(!logged.includes('PRIVATE KEY'), 'no private key PEM');
      const certKeyPem = await exportPrivateKeyPem(r.certKeys.privateKey);
      assert.ok(!logged.includes(certKeyPem.split('\n')[1]!), 'the certificate key');
      assert.ok(!logged.includes('BEGIN CERTIFICATE'));
      assert.ok(!logged.includes(r.chainPem.slice(40, 80)));
    } finally {
      await app.close();
      await env.cleanup();
    }
  });
});
