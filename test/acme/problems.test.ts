// Every problem type real clients meet (acme-notes §2), through fastify inject: each asserts the
// URN, the HTTP status, problem+json, a fresh Replay-Nonce and the Link index.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64url, FlattenedSign } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { PROBLEM_STATUS } from '../../src/acme/problems.js';
import { BASE_URL, NODE_A, NODE_B, testEnv, type TestEnv } from './helpers/deps.js';
import { accountKey, injectTransport, te, TestAcmeClient, testCsr, type HttpResponse } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';

function assertProblem(res: HttpResponse, type: string, status: number): Record<string, unknown> {
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const p = res.json();
  assert.equal(p.type, `urn:ietf:params:acme:error:${type}`, res.body);
  assert.equal(p.status, status);
  assert.equal(typeof p.detail, 'string');
  assert.ok(!('subproblems' in p) || (Array.isArray(p.subproblems) && p.subproblems.length > 0), 'subproblems omitted when empty');
  assert.match(String(res.headers['replay-nonce']), /^[A-Za-z0-9_-]+$/, 'errors carry a fresh nonce (§6.5)');
  assert.match(String(res.headers.link), /rel="index"/);
  return p;
}

describe('ACME problems', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let client: TestAcmeClient;
  before(async () => {
    env = await testEnv();
    app = buildAcmeApp(env.deps);
    await app.ready();
    client = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    client.retryBadNonce = false;
    assert.equal((await client.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });
  const fresh = async () => {
    const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    c.retryBadNonce = false;
    return c;
  };

  describe('transport and JWS (§6.2, §6.4, §6.5)', () => {
    it('wrong Content-Type is 415', async () => {
      const body = JSON.stringify(await client.sign(client.directory.newOrder!, { identifiers: [] }));
      assertProblem(await client.postRaw(client.directory.newOrder!, body, 'application/json'), 'malformed', 415);
      const res = await app.inject({ method: 'POST', url: '/acme/new-order' });
      assert.equal(res.statusCode, 415);
    });
    it('a reused nonce is badNonce with a fresh nonce', async () => {
      const nonce = await client.nonce();
      const ok = await client.post(client.kid!, '', { nonce });
      assert.equal(ok.status, 200, ok.body);
      const res = await client.post(client.kid!, '', { nonce });
      assertProblem(res, 'badNonce', 400);
      assert.notEqual(res.headers['replay-nonce'], nonce);
    });
    it('an unknown nonce is badNonce; a missing one too; a non-base64url one malformed', async () => {
      assertProblem(await client.post(client.kid!, '', { nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }), 'badNonce', 400);
      assertProblem(await client.post(client.kid!, '', { nonce: null }), 'badNonce', 400);
      assertProblem(await client.post(client.kid!, '', { nonce: 'not base64!' }), 'malformed', 400);
    });
    it('url mismatch is unauthorized (exact string, from the configured base URL)', async () => {
      assertProblem(await client.post(client.kid!, '', { url: client.kid!.replace('https://', 'http://') }), 'unauthorized', 403);
      assertProblem(await client.post(client.kid!, '', { url: client.kid! + '/' }), 'unauthorized', 403);
    });
    it('alg none and HS256 on the outer JWS are badSignatureAlgorithm with an algorithms list', async () => {
      const url = client.directory.newOrder!;
      const prot = base64url.encode(JSON.stringify({ alg: 'none', nonce: await client.nonce(), url, kid: client.kid }));
      const none = await client.postRaw(url, JSON.stringify({ protected: prot, payload: base64url.encode('{}'), signature: '' }));
      const p = assertProblem(none, 'badSignatureAlgorithm', 400);
      assert.deepEqual(p.algorithms, ['ES256', 'ES384', 'EdDSA', 'RS256']);
      const hs = await new FlattenedSign(te.encode('{}')).setProtectedHeader({ alg: 'HS256', nonce: await client.nonce(), url, kid: client.kid }).sign(new Uint8Array(32));
      assertProblem(await client.postRaw(url, JSON.stringify(hs)), 'badSignatureAlgorithm', 400);
    });
    it('unacceptable account keys are badPublicKey', async () => {
      const c = await fresh();
      const { generateKeyPair: gen, exportJWK } = await import('jose');
      const rsa1024 = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
      // jose refuses to sign with a 1024-bit key, so the JWS is assembled by hand here.
      const weakProt = base64url.encode(JSON.stringify({ alg: 'RS256', nonce: await c.nonce(), url: c.directory.newAccount, jwk: await exportJWK(rsa1024.publicKey) }));
      const weakPayload = base64url.encode('{}');
      const weakSig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa1024.privateKey, te.encode(`${weakProt}.${weakPayload}`));
      const weakJws = { protected: weakProt, payload: weakPayload, signature: base64url.encode(new Uint8Array(weakSig)) };
      assertProblem(await c.postRaw(c.directory.newAccount!, JSON.stringify(weakJws)), 'badPublicKey', 400);
      const p384 = await gen('ES384', { extractable: true });
      const mismatched = { alg: 'ES256' as const, privateKey: p384.privateKey as CryptoKey, jwk: await exportJWK(p384.publicKey) };
      const url = c.directory.newAccount!;
      const header = { alg: 'ES256', nonce: await c.nonce(), url, jwk: mismatched.jwk };
      const sig = await new FlattenedSign(te.encode('{}')).setProtectedHeader({ ...header, alg: 'ES384' }).sign(mismatched.privateKey);
      const forged = { protected: base64url.encode(JSON.stringify(header)), payload: sig.payload, signature: sig.signature };
      assertProblem(await c.postRaw(url, JSON.stringify(forged)), 'badPublicKey', 400);
      const withPrivate = { ...c.key, jwk: { ...c.key.jwk, d: 'AAAA' } };
      assertProblem(await c.post(url, {}, { useJwk: true, key: withPrivate }), 'badPublicKey', 400);
    });
    it('kid and jwk together are malformed', async () => {
      assertProblem(await client.post(client.kid!, '', { header: { jwk: client.key.jwk } }), 'malformed', 400);
    });
    it('an unprotected header, general serialization, padding and garbage are malformed', async () => {
      const jws = await client.sign(client.kid!, '');
      assertProblem(await client.postRaw(client.kid!, JSON.stringify({ ...jws, header: { kid: 'x' } })), 'malformed', 400);
      assertProblem(await client.postRaw(client.kid!, JSON.stringify({ payload: jws.payload, signatures: [{ protected: jws.protected, signature: jws.signature }] })), 'malformed', 400);
      assertProblem(await client.postRaw(client.kid!, JSON.stringify({ ...jws, protected: jws.protected + '=' })), 'malformed', 400);
      assertProblem(await client.postRaw(client.kid!, '{not json'), 'malformed', 400);
    });
    it('a bad signature is malformed', async () => {
      const jws = await client.sign(client.kid!, '');
      const sig = base64url.decode(jws.signature);
      sig[0] ^= 1;
      assertProblem(await client.postRaw(client.kid!, JSON.stringify({ ...jws, signature: base64url.encode(sig) })), 'malformed', 400);
    });
    it('an unknown account is accountDoesNotExist; a foreign kid malformed', async () => {
      const other = await fresh();
      other.kid = BASE_URL + 'acct/AAAAAAAAAAAAAAAAAAAAAA';
      assertProblem(await other.post(other.directory.newOrder!, { identifiers: [{ type: 'dns', value: NODE_A.dns[0] }] }), 'accountDoesNotExist', 400);
      other.kid = 'https://elsewhere.test/acct/1';
      assertProblem(await other.post(other.directory.newOrder!, { identifiers: [{ type: 'dns', value: NODE_A.dns[0] }] }), 'malformed', 400);
    });
    it('newAccount must use jwk; other requests kid', async () => {
      assertProblem(await client.post(client.directory.newAccount!, {}, {}), 'malformed', 400);
      assertProblem(await client.post(client.directory.newOrder!, { identifiers: [] }, { useJwk: true }), 'malformed', 400);
    });
    it('random bodies and headers never produce a 5xx', async () => {
      const urls = ['new-account', 'new-order', 'revoke-cert', 'key-change', 'acct/x', 'order/x/finalize', 'chall/a/b', 'cert/zz'];
      const bodies = ['', 'null', '[]', '{}', '"x"', '{"protected":1}', '{"protected":"","payload":"","signature":""}', '{"protected":"e30","payload":"","signature":""}', '\u0000\u0001', '{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"e30","signature":"AA"}'];
      for (let i = 0; i < 200; i++) {
        const url = '/acme/' + urls[i % urls.length];
        const payload = i % 3 === 0 ? Buffer.from(Array.from({ length: i % 50 }, () => Math.floor(Math.random() * 256))) : bodies[i % bodies.length];
        const ct = ['application/jose+json', 'application/jose+json; charset=utf-8', 'text/plain', 'application/json'][i % 4]!;
        const res = await app.inject({ method: 'POST', url, headers: { 'content-type': ct }, payload });
        assert.ok(res.statusCode < 500, `${url} ${ct} → ${res.statusCode} ${res.body}`);
        assert.equal(res.headers['content-type'], 'application/problem+json');
      }
    });
  });

  describe('accounts (§7.3)', () => {
    it('without EAB: externalAccountRequired; with a wrong MAC: unauthorized', async () => {
      const c = await fresh();
      assertProblem(await c.newAccount(), 'externalAccountRequired', 400);
      assertProblem(await c.newAccount({ eab: { keyId: env.eab[NODE_A.name]!.keyId, macKey: base64url.encode(new Uint8Array(32)) } }), 'unauthorized', 403);
      assertProblem(await c.newAccount({ eab: { keyId: 'eab-unknown', macKey: env.eab[NODE_A.name]!.macKey } }), 'unauthorized', 403);
    });
    it('EAB with a nonce, or a payload that is not the account key, is refused', async () => {
      const c = await fresh();
      const withNonce = await c.eabFor(env.eab[NODE_A.name]!, c.directory.newAccount!, { nonce: 'abc' });
      assertProblem(await c.post(c.directory.newAccount!, { externalAccountBinding: withNonce }, { useJwk: true }), 'malformed', 400);
      const other = await accountKey();
      const wrongKey = await c.eabFor(env.eab[NODE_A.name]!, c.directory.newAccount!, {}, other.jwk);
      assertProblem(await c.post(c.directory.newAccount!, { externalAccountBinding: wrongKey }, { useJwk: true }), 'unauthorized', 403);
    });
    it('onlyReturnExisting: accountDoesNotExist, then 200 + Location for a known key', async () => {
      const c = await fresh();
      assertProblem(await c.newAccount({ onlyReturnExisting: true }), 'accountDoesNotExist', 400);
      const again = await client.newAccount({ onlyReturnExisting: true });
      assert.equal(again.status, 200);
      assert.equal(again.headers.location, client.kid);
      const existing = await client.newAccount({ eab: env.eab[NODE_B.name] });
      assert.equal(existing.status, 200, 'known key: unchanged account, fields ignored');
      assert.ok(existing.json().externalAccountBinding);
    });
    it('invalid and unsupported contacts', async () => {
      assertProblem(await client.post(client.kid!, { contact: ['mailto:a@b.test,c@d.test'] }), 'invalidContact', 400);
      assertProblem(await client.post(client.kid!, { contact: ['tel:+1555'] }), 'unsupportedContact', 400);
      const ok = await client.post(client.kid!, { contact: ['mailto:ops@nuc-1.test'] });
      assert.deepEqual(ok.json().contact, ['mailto:ops@nuc-1.test']);
    });
    it('keyChange: rolls the key; a key in use is 409 with Location', async () => {
      const c = await fresh();
      assert.equal((await c.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
      const inner = async (newKey: Awaited<ReturnType<typeof accountKey>>) => {
        const url = c.directory.keyChange!;
        const payload = te.encode(JSON.stringify({ account: c.kid, oldKey: c.key.jwk }));
        const jws = await new FlattenedSign(payload).setProtectedHeader({ alg: newKey.alg, jwk: newKey.jwk, url }).sign(newKey.privateKey);
        return c.post(url, jws);
      };
      const conflict = await inner(client.key);
      assertProblem(conflict, 'malformed', 409);
      assert.equal(conflict.headers.location, client.kid);
      const next = await accountKey('EdDSA');
      const ok = await inner(next);
      assert.equal(ok.status, 200, ok.body);
      c.key = next;
      assert.equal((await c.post(c.kid!, '')).status, 200, 'the new key signs');
    });
    it('a deactivated account gets 401 unauthorized afterwards', async () => {
      const c = await fresh();
      assert.equal((await c.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
      const d = await c.post(c.kid!, { status: 'deactivated' });
      assert.equal(d.json().status, 'deactivated');
      assertProblem(await c.newOrder([NODE_A.dns[0]!]), 'unauthorized', 401);
      assertProblem(await c.post(c.kid!, ''), 'unauthorized', 401);
    });
  });

  describe('orders (§7.4)', () => {
    it('finalize before ready is 403 orderNotReady', async () => {
      const res = await client.newOrder([NODE_A.dns[0]!]);
      const { der } = await testCsr([NODE_A.dns[0]!]);
      assertProblem(await client.post(res.json().finalize as string, { csr: base64url.encode(der) }), 'orderNotReady', 403);
    });
    it('order objects are POST-as-GET: a {} payload is malformed; another account\'s order unauthorized', async () => {
      const res = await client.newOrder([NODE_A.dns[0]!]);
      assertProblem(await client.post(String(res.headers.location), {}), 'malformed', 400);
      const c = await fresh();
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      assertProblem(await c.post(String(res.headers.location), ''), 'unauthorized', 403);
      assertProblem(await c.post(BASE_URL + 'order/nope', ''), 'malformed', 404);
    });
    it('badCSR cases leave the order ready', async () => {
      const names = [NODE_A.dns[0]!];
      const { url, body } = await client.readyOrder(names);
      const fin = body.finalize as string;
      const cases: Array<[string, Promise<{ der: Uint8Array }>]> = [
        ['missing name', testCsr([])],
        ['extra name', testCsr([...names, NODE_A.dns[1]!])],
        ['foreign CN', testCsr(names, { commonName: 'other.nuc-1.test' })],
        ['IP SAN', testCsr(names, { extraSans: [{ type: 'ip', value: '10.0.0.1' }] })],
        ['weak RSA', testCsr(names, { keys: await generateRsa1024() })],
        ['trailing dot', testCsr([names[0] + '.'])],
        ['white space', testCsr([` ${names[0]}`])],
        ['CN trailing dot', testCsr(names, { commonName: names[0] + '.' })],
      ];
      const expected: Record<string, RegExp> = {
        'missing name': /missing/, 'extra name': /not in the order/, 'foreign CN': /common name/, 'IP SAN': /IP address/, 'weak RSA': /1024 bits/,
        'trailing dot': /subjectAltName .*preferred name syntax/, 'white space': /preferred name syntax/, 'CN trailing dot': /common name .*preferred name syntax/,
      };
      for (const [what, csr] of cases) {
        const res = await client.post(fin, { csr: base64url.encode((await csr).der) });
        assertProblem(res, 'badCSR', 400);
        assert.match(res.json<{ detail: string }>().detail, expected[what]!, what);
      }
      // The account key is refused (§11.1).
      const accountKeyPair = { privateKey: client.key.privateKey, publicKey: await crypto.subtle.importKey('jwk', client.key.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) };
      assertProblem(await client.post(fin, { csr: base64url.encode((await testCsr(names, { keys: accountKeyPair })).der) }), 'badCSR', 400);
      assertProblem(await client.post(fin, { csr: 'AAAA' }), 'badCSR', 400);
      for (const alg of ['ECDSA-P256', 'RSA-2048', 'Ed25519'] as const) {
        const forged = (await testCsr(names, { keyAlgorithm: alg })).der;
        forged[forged.length - 5] ^= 0x01; // inside the signature BIT STRING
        assertProblem(await client.post(fin, { csr: base64url.encode(forged) }), 'badCSR', 400);
      }
      assert.equal((await client.post(url, '')).json().status, 'ready');
      // A good CSR then works (RSA 2048, Ed25519 and P-384 are accepted keys).
      for (const alg of ['RSA-2048', 'Ed25519', 'ECDSA-P384'] as const) {
        const r = await client.issue(names, {}, alg);
        assert.equal(r.order.status, 'valid');
      }
      // A CN that is one of the names is fine.
      const { der } = await testCsr(names, { commonName: names[0] });
      const ok = await client.post(fin, { csr: base64url.encode(der) });
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.json().status, 'valid');
      // DNS names compare without regard to case (RFC 4343): an upper-case CSR name is the order's.
      const again = await client.readyOrder(names);
      const upper = await client.post(again.body.finalize as string, { csr: base64url.encode((await testCsr([names[0]!.toUpperCase()])).der) });
      assert.equal(upper.status, 200, upper.body);
      assert.equal(upper.json().status, 'valid');
    });
    it('notBefore/notAfter within policy are honoured exactly; outside policy refused, never altered', async () => {
      const now = Date.now();
      const notAfter = new Date(Math.floor((now + 2 * 86_400_000) / 1000) * 1000).toISOString();
      const r = await client.issue([NODE_A.dns[0]!], { notAfter });
      assert.equal(r.order.notAfter, notAfter);
      const { x509 } = await import('../../src/ca/x509.js');
      const leaf = new x509.X509Certificate(r.chainPem.split(/(?=-----BEGIN)/)[0]!);
      assert.equal(leaf.notAfter.toISOString(), notAfter);
      assertProblem(await client.newOrder([NODE_A.dns[0]!], { notAfter: new Date(now + 30 * 86_400_000).toISOString() }), 'malformed', 400);
      assertProblem(await client.newOrder([NODE_A.dns[0]!], { notBefore: 'yesterday' }), 'malformed', 400);
      assert.equal((await client.newOrder([NODE_A.dns[0]!], { profile: 'x', unknown: 1 })).status, 201, 'unknown fields are ignored');
    });
    it('unsupported identifier types are unsupportedIdentifier; an empty list malformed', async () => {
      assertProblem(await client.post(client.directory.newOrder!, { identifiers: [{ type: 'email', value: 'a@b' }] }), 'unsupportedIdentifier', 400);
      assertProblem(await client.post(client.directory.newOrder!, { identifiers: [] }), 'malformed', 400);
    });
  });

  describe('challenges and authorizations (§7.5, §8)', () => {
    it('fetching a challenge does not start validation; POST {} does; failure is precise and cascades', async () => {
      env.validator.decide = (req) => ({ valid: false, problem: { type: 'incorrectResponse', detail: `wrong body at ${req.identifier}` } });
      try {
        const res = await client.newOrder([NODE_A.dns[1]!]);
        const orderUrl = String(res.headers.location);
        const authzUrl = (res.json().authorizations as string[])[0]!;
        const authz = (await client.post(authzUrl, '')).json<{ challenges: Array<{ type: string; url: string }> }>();
        assert.deepEqual(authz.challenges.map((c) => c.type).sort(), ['http-01', 'tls-alpn-01']);
        const ch = authz.challenges.find((c) => c.type === 'tls-alpn-01')!;
        const calls = env.validator.calls.length;
        const got = await client.post(ch.url, '');
        assert.equal(got.json().status, 'pending');
        assert.match(String(got.headers.link), /rel="up"/);
        assert.equal(env.validator.calls.length, calls, 'POST-as-GET does not validate');
        const started = await client.post(ch.url, {});
        assert.ok(['processing', 'invalid'].includes(started.json().status as string));
        const done = await client.poll(ch.url, (c) => c.status !== 'processing');
        assert.equal(done.status, 'invalid');
        assert.equal((done.error as { type: string }).type, 'urn:ietf:params:acme:error:incorrectResponse');
        assert.equal((await client.post(authzUrl, '')).json().status, 'invalid');
        assert.equal((await client.post(orderUrl, '')).json().status, 'invalid');
        assert.equal(env.validator.calls.at(-1)!.keyAuthorization, `${env.validator.calls.at(-1)!.token}.${await client.thumbprint()}`);
      } finally {
        env.validator.decide = () => ({ valid: true });
      }
    });
    it('every validation problem type reaches the challenge unchanged (never rejectedIdentifier)', async () => {
      const types = ['connection', 'dns', 'incorrectResponse', 'tls', 'unauthorized', 'serverInternal'] as const;
      // A fresh account: the shared one holds valid authorizations that new orders would reuse.
      const c = await fresh();
      c.retryBadNonce = true;
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      try {
        for (const type of types) {
          env.validator.decide = () => ({ valid: false, problem: { type, detail: `${type} failure` } });
          const res = await c.newOrder([NODE_A.dns[0]!]);
          const authzUrl = (res.json().authorizations as string[])[0]!;
          const authz = (await c.post(authzUrl, '')).json<{ status: string; challenges: Array<{ url: string }> }>();
          assert.equal(authz.status, 'pending');
          await c.post(authz.challenges[0]!.url, {});
          const done = await c.poll(authz.challenges[0]!.url, (x) => x.status !== 'processing');
          const err = done.error as { type: string; status: number; identifier: { value: string } };
          assert.equal(err.type, `urn:ietf:params:acme:error:${type}`);
          assert.equal(err.status, PROBLEM_STATUS[type]);
          assert.equal(err.identifier.value, NODE_A.dns[0]);
        }
      } finally {
        env.validator.decide = () => ({ valid: true });
      }
    });
    it('authorization deactivation (§7.5.2) makes the order invalid', async () => {
      const res = await client.newOrder([NODE_A.dns[0]!]);
      const authzUrl = (res.json().authorizations as string[])[0]!;
      const d = await client.post(authzUrl, { status: 'deactivated' });
      assert.equal(d.json().status, 'deactivated');
      assert.equal((await client.post(String(res.headers.location), '')).json().status, 'invalid');
      assertProblem(await client.post(authzUrl, { status: 'valid' }), 'malformed', 400);
    });
  });

  describe('revokeCert (§7.6)', () => {
    it('by account key, with reasons; alreadyRevoked; badRevocationReason', async () => {
      const { chainPem } = await client.issue([NODE_A.dns[0]!]);
      const der = derOf(chainPem);
      assertProblem(await client.post(client.directory.revokeCert!, { certificate: der, reason: 7 }), 'badRevocationReason', 400);
      const ok = await client.post(client.directory.revokeCert!, { certificate: der, reason: 4 });
      assert.equal(ok.status, 200, ok.body);
      assert.ok(ok.headers['replay-nonce']);
      assertProblem(await client.post(client.directory.revokeCert!, { certificate: der }), 'alreadyRevoked', 400);
    });
    it('by another node\'s account: unauthorized; by a same-node account: allowed', async () => {
      const { chainPem } = await client.issue([NODE_A.dns[0]!]);
      const b = await fresh();
      await b.newAccount({ eab: env.eab[NODE_B.name] });
      assertProblem(await b.post(b.directory.revokeCert!, { certificate: derOf(chainPem) }), 'unauthorized', 403);
      const a2 = await fresh();
      await a2.newAccount({ eab: env.eab[NODE_A.name] });
      assert.equal((await a2.post(a2.directory.revokeCert!, { certificate: derOf(chainPem), reason: 1 })).status, 200);
    });
    it('by certificate key (jwk); a different jwk is unauthorized', async () => {
      const { chainPem, certKeys } = await client.issue([NODE_A.dns[0]!]);
      const stranger = await fresh();
      assertProblem(await stranger.post(stranger.directory.revokeCert!, { certificate: derOf(chainPem) }, { useJwk: true }), 'unauthorized', 403);
      const { exportJWK } = await import('jose');
      const certKey = { alg: 'ES256' as const, privateKey: certKeys.privateKey, jwk: await exportJWK(certKeys.publicKey) };
      const res = await stranger.post(stranger.directory.revokeCert!, { certificate: derOf(chainPem), reason: 1 }, { useJwk: true, key: certKey });
      assert.equal(res.status, 200, res.body);
      const serial = (await import('./helpers/client.js')).firstCertificate(chainPem).serialNumber.toLowerCase();
      assert.equal((await env.store.getRevocation(serial))?.reason, 1);
    });
  });
});

function derOf(chainPem: string): string {
  const b64 = chainPem.split('-----END CERTIFICATE-----')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, '');
  return base64url.encode(Buffer.from(b64, 'base64'));
}

async function generateRsa1024(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
}
