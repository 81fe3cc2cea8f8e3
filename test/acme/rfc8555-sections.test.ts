// RFC 8555 §6, §7 and §11 read MUST by MUST and SHOULD by SHOULD: one test per server-side
// requirement not already held by another test file; each title names its section.
// docs/acme.md "RFC 8555 requirements and their tests" maps every sentence to a test or says why not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64url, FlattenedSign } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { appRig, type AppRig } from './helpers/app.js';
import { issuerCrlSigner } from '../../src/acme/crl.js';
import { x509 } from '../../src/ca/x509.js';
import { PROBLEM_STATUS } from '../../src/acme/problems.js';
import { BASE_URL, NODE_A, NODE_B, NODE_SUFFIX, testEnv, type TestEnv } from './helpers/deps.js';
import { accountKey, firstCertificate, injectTransport, te, TestAcmeClient, testCsr, type HttpResponse } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';
const ERR = 'urn:ietf:params:acme:error:';
const B64URL = /^[A-Za-z0-9_-]+$/;
// RFC 8555 §6.7 table plus the types later RFCs registered (RFC 9773 §7.4 alreadyReplaced).
const REGISTERED = ['accountDoesNotExist', 'alreadyRevoked', 'badCSR', 'badNonce', 'badPublicKey', 'badRevocationReason', 'badSignatureAlgorithm', 'caa', 'compound', 'connection', 'dns', 'externalAccountRequired', 'incorrectResponse', 'invalidContact', 'malformed', 'orderNotReady', 'rateLimited', 'rejectedIdentifier', 'serverInternal', 'tls', 'unauthorized', 'unsupportedContact', 'unsupportedIdentifier', 'userActionRequired', 'alreadyReplaced'];

function problemOf(res: HttpResponse, type: string, status: number): Record<string, unknown> {
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const p = res.json();
  assert.equal(p.type, ERR + type, res.body);
  return p;
}

function hasIndexLink(res: HttpResponse): boolean {
  const link = res.headers.link;
  const all = Array.isArray(link) ? link.join(', ') : String(link ?? '');
  return all.includes(`<${DIR_URL}>;rel="index"`);
}

describe('RFC 8555 §6, §7, §11: MUST by MUST', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let client: TestAcmeClient;
  let other: TestAcmeClient;
  let rig: AppRig;
  before(async () => {
    // Many tests make a fresh account with one node's EAB credential: lift that §6.6 limit here.
    rig = await appRig({ limits: { newAccountsPerEabCredential: { count: 10_000, windowMs: 3_600_000 } } });
    ({ env, app, client } = rig);
    other = rig.other!;
  });
  after(() => rig.close());
  const fresh = async (node = NODE_A.name) => {
    const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    assert.equal((await c.newAccount({ eab: env.eab[node] })).status, 201);
    return c;
  };

  it('§6.1: every URL the server gives (directory, account, order, authorization, challenge, certificate) is https (use of HTTPS is REQUIRED)', async () => {
    const { order, orderUrl } = await client.issue([NODE_A.dns[0]!]);
    const authz = (await client.post((order.authorizations as string[])[0]!, '')).json<{ challenges: Array<{ url: string }> }>();
    const urls = [...Object.values(client.directory).filter((v) => typeof v === 'string'), client.kid!, orderUrl, order.finalize as string, order.certificate as string, ...(order.authorizations as string[]), ...authz.challenges.map((c) => c.url)];
    for (const u of urls) assert.match(String(u), /^https:\/\//, String(u));
    assert.throws(() => buildAcmeApp({ ...env.deps, baseUrl: 'http://acme.test/' }), /https/);
  });

  it('§6.2: the JWS Unencoded Payload Option (b64: false, RFC 7797) is refused as malformed', async () => {
    const url = client.directory.newOrder!;
    const header = { alg: client.key.alg, kid: client.kid, nonce: await client.nonce(), url, b64: false, crit: ['b64'] };
    const jws = await new FlattenedSign(te.encode('{"identifiers":[]}')).setProtectedHeader(header).sign(client.key.privateKey);
    problemOf(await client.postRaw(url, JSON.stringify(jws)), 'malformed', 400);
  });

  it('§6.2: ES256 MUST and EdDSA (Ed25519) SHOULD be implemented: accounts with either key order and finalize', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL, alg);
      assert.equal((await c.newAccount({ eab: env.eab[NODE_A.name] })).status, 201, alg);
      assert.equal((await c.issue([NODE_A.dns[1]!])).order.status, 'valid', alg);
    }
  });

  it('§6.2 / §6.4: a JWS without "url" is refused; the "jwk" of newAccount must be the key that signed it', async () => {
    const res = await client.post(client.directory.newOrder!, { identifiers: [{ type: 'dns', value: NODE_A.dns[0] }] }, { header: { url: null } });
    assert.ok(res.status === 400 || res.status === 403, String(res.status));
    assert.match(String(res.json().type), /malformed|unauthorized/);
    const stranger = await accountKey('ES256');
    const forged = await (await TestAcmeClient.create(injectTransport(app), DIR_URL)).post(client.directory.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true, header: { jwk: stranger.jwk } });
    problemOf(forged, 'malformed', 400);
  });

  it('§6.3: the directory and newNonce answer GET and POST-as-GET', async () => {
    const dir = await client.post(DIR_URL, '');
    assert.equal(dir.status, 200, dir.body);
    assert.equal(dir.json().newNonce, client.directory.newNonce);
    const nonce = await client.post(client.directory.newNonce!, '');
    assert.ok(nonce.status === 200 || nonce.status === 204, String(nonce.status));
    assert.match(String(nonce.headers['replay-nonce']), B64URL);
  });

  it('§6.5: every successful POST response carries a fresh base64url Replay-Nonce, error responses too; all distinct', async () => {
    const seen = new Set<string>();
    const check = (res: HttpResponse, what: string) => {
      const n = res.headers['replay-nonce'];
      assert.match(String(n), B64URL, what);
      assert.ok(!seen.has(String(n)), `${what}: nonce repeated`);
      seen.add(String(n));
    };
    const c = await fresh();
    const { url, body } = await c.readyOrder([NODE_A.dns[0]!]);
    check(await c.post(c.kid!, ''), 'account');
    check(await c.post(url, ''), 'order');
    check(await c.post((body.authorizations as string[])[0]!, ''), 'authz');
    const { der } = await testCsr([NODE_A.dns[0]!]);
    const fin = await c.post(body.finalize as string, { csr: base64url.encode(der) });
    check(fin, 'finalize');
    const cert = await c.post(fin.json().certificate as string, '');
    check(cert, 'certificate');
    check(await c.post(`${c.kid}/orders`, ''), 'orders list');
    check(await c.post(BASE_URL + 'order/does-not-exist', ''), 'a 404');
    check(await c.post(body.finalize as string, { csr: base64url.encode(der) }), 'a 403');
  });

  it('§6.7: every problem type the server can send is a registered ACME URN; "identifier" never at the top level, only in subproblems', async () => {
    for (const t of Object.keys(PROBLEM_STATUS)) assert.ok(REGISTERED.includes(t), `${t} is not a registered ACME error type`);
    const res = await client.newOrder([NODE_B.dns[0]!, 'www.google.com']);
    const p = problemOf(res, 'rejectedIdentifier', 400);
    assert.equal(p.identifier, undefined);
    const subs = p.subproblems as Array<{ identifier: { type: string; value: string } }>;
    assert.deepEqual(subs.map((s) => s.identifier.value).sort(), [NODE_B.dns[0]!, 'www.google.com'].sort());
  });

  it('§7.1: every response other than the directory carries Link rel="index" (success, problem, nonce, certificate, revocation); challenges carry rel="up"', async () => {
    const c = await fresh();
    const { url, body } = await c.readyOrder([NODE_A.dns[0]!]);
    const authzUrl = (body.authorizations as string[])[0]!;
    const authz = (await c.post(authzUrl, '')).json<{ challenges: Array<{ url: string }> }>();
    const chall = await c.post(authz.challenges[0]!.url, '');
    assert.ok(String(chall.headers.link).includes(`<${authzUrl}>;rel="up"`), String(chall.headers.link));
    const { der } = await testCsr([NODE_A.dns[0]!]);
    const fin = await c.post(body.finalize as string, { csr: base64url.encode(der) });
    const cert = await c.post(fin.json().certificate as string, '');
    const revoke = await c.post(c.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(firstCertificate(cert.body).rawData)) });
    const responses: Array<[string, HttpResponse]> = [
      ['newNonce HEAD', await c.transport({ method: 'HEAD', url: c.directory.newNonce! })],
      ['account', await c.post(c.kid!, '')],
      ['orders', await c.post(`${c.kid}/orders`, '')],
      ['order', await c.post(url, '')],
      ['authz', await c.post(authzUrl, '')],
      ['challenge', chall],
      ['finalize', fin],
      ['certificate', cert],
      ['revokeCert', revoke],
      ['problem', await c.post(BASE_URL + 'order/nope', '')],
      ['405', await c.transport({ method: 'GET', url: c.directory.newOrder! })],
    ];
    for (const [what, res] of responses) assert.ok(hasIndexLink(res), `${what}: ${String(res.headers.link)}`);
    assert.equal(revoke.status, 200, revoke.body);
  });

  it('§7.1.1: the directory omits newAuthz (no pre-authorization), has a JSON-object meta with externalAccountRequired true, and no termsOfService (none is required)', async () => {
    const dir = (await client.transport({ method: 'GET', url: DIR_URL })).json<Record<string, unknown>>();
    assert.equal(dir.newAuthz, undefined);
    for (const k of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange']) assert.equal(typeof dir[k], 'string', k);
    const meta = dir.meta as Record<string, unknown>;
    assert.ok(meta && typeof meta === 'object' && !Array.isArray(meta));
    assert.equal(meta.externalAccountRequired, true);
    assert.equal(meta.termsOfService, undefined);
  });

  it('§7.1.2 / §7.3: the account object has status and orders; unknown fields, "orders" and "onlyReturnExisting": false are ignored and never reflected', async () => {
    const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    const payload = { termsOfServiceAgreed: true, orders: 'https://evil.example/orders', onlyReturnExisting: false, futureField: { x: 1 }, externalAccountBinding: await c.eabFor(env.eab[NODE_A.name]!) };
    const res = await c.post(c.directory.newAccount!, payload, { useJwk: true });
    assert.equal(res.status, 201, res.body);
    const acct = res.json();
    assert.equal(acct.status, 'valid');
    assert.equal(acct.orders, `${String(res.headers.location)}/orders`);
    assert.equal(acct.futureField, undefined);
    assert.equal(acct.onlyReturnExisting, undefined);
  });

  it('§7.1.2.1: the orders list is a JSON object whose "orders" holds the account\'s order URLs, pending ones included, invalid ones left out, never another account\'s', async () => {
    const c = await fresh();
    const pending = String((await c.newOrder([NODE_A.dns[0]!])).headers.location);
    const { orderUrl } = await c.issue([NODE_A.dns[1]!]);
    const doomed = await c.newOrder([NODE_A.dns[1]!, NODE_A.dns[0]!]);
    const doomedUrl = String(doomed.headers.location);
    for (const a of doomed.json().authorizations as string[]) await c.post(a, { status: 'deactivated' });
    assert.equal((await c.post(doomedUrl, '')).json().status, 'invalid');
    await other.newOrder([NODE_B.dns[0]!]);
    const list = await c.post(`${c.kid}/orders`, '');
    assert.equal(list.status, 200);
    const orders = list.json<{ orders: string[] }>().orders;
    assert.ok(orders.includes(pending), 'pending order listed');
    assert.ok(orders.includes(orderUrl), 'valid order listed');
    assert.ok(!orders.includes(doomedUrl), 'invalid order not listed');
    assert.ok(orders.every((u) => u.startsWith(BASE_URL + 'order/')));
    problemOf(await other.post(`${c.kid}/orders`, ''), 'unauthorized', 403);
  });

  it('§7.1.3 / §7.1.4: orders carry "expires" while pending and once valid; a valid authorization has "expires", no "wildcard", and its valid challenge a "validated" time; identifiers and authorizations never change', async () => {
    const c = await fresh();
    const created = await c.newOrder([NODE_A.dns[0]!]);
    const first = created.json();
    assert.match(String(first.expires), /^\d{4}-\d\d-\d\dT/);
    const { order } = await c.issue([NODE_A.dns[0]!]);
    assert.equal(order.status, 'valid');
    assert.match(String(order.expires), /^\d{4}-\d\d-\d\dT/);
    const authz = (await c.post((order.authorizations as string[])[0]!, '')).json();
    assert.equal(authz.status, 'valid');
    assert.match(String(authz.expires), /^\d{4}-\d\d-\d\dT/);
    assert.equal('wildcard' in authz, false);
    const ch = (authz.challenges as Array<Record<string, unknown>>)[0]!;
    assert.equal(ch.status, 'valid');
    assert.match(String(ch.validated), /^\d{4}-\d\d-\d\dT/);
    const again = (await c.post(String(created.headers.location), '')).json();
    assert.deepEqual(again.identifiers, first.identifiers);
    assert.deepEqual(again.authorizations, first.authorizations);
  });

  it('§7.1.5 / §8: a challenge with an "error" is "invalid"; a failed authorization keeps its invalid challenge', async () => {
    const c = await fresh();
    env.validator.decide = () => ({ valid: false, problem: { type: 'incorrectResponse', detail: 'wrong key authorization' } });
    try {
      const res = await c.newOrder([NODE_A.dns[1]!]);
      const authzUrl = (res.json().authorizations as string[])[0]!;
      const authz = (await c.post(authzUrl, '')).json<{ challenges: Array<{ url: string; type: string }> }>();
      await c.post(authz.challenges.find((x) => x.type === 'http-01')!.url, {});
      const done = await c.poll(authzUrl, (a) => a.status !== 'pending');
      assert.equal(done.status, 'invalid');
      const failed = (done.challenges as Array<Record<string, unknown>>).filter((x) => x.error);
      assert.ok(failed.length >= 1, 'the invalid challenge is kept');
      for (const x of failed) assert.equal(x.status, 'invalid');
    } finally {
      env.validator.decide = () => ({ valid: true });
    }
  });

  it('§7.2: newNonce HEAD returns 200 and GET 204 with an empty body, each with a Replay-Nonce and Cache-Control: no-store', async () => {
    const head = await client.transport({ method: 'HEAD', url: client.directory.newNonce! });
    assert.equal(head.status, 200);
    const get = await client.transport({ method: 'GET', url: client.directory.newNonce! });
    assert.equal(get.status, 204);
    assert.equal(get.body, '');
    for (const r of [head, get]) {
      assert.match(String(r.headers['replay-nonce']), B64URL);
      assert.match(String(r.headers['cache-control']), /no-store/);
    }
  });

  it('§7.3: a mailto contact with hfields or several addresses is invalidContact; another scheme unsupportedContact naming what is accepted', async () => {
    const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    for (const bad of ['mailto:a@example.org?subject=x', 'mailto:a@example.org,b@example.org']) {
      problemOf(await c.newAccount({ eab: env.eab[NODE_A.name], contact: [bad] }), 'invalidContact', 400);
    }
    const p = problemOf(await c.newAccount({ eab: env.eab[NODE_A.name], contact: ['tel:+1555'] }), 'unsupportedContact', 400);
    assert.match(String(p.detail), /mailto/);
  });

  it('§7.3.1: a newAccount for a known key is 200 with the account\'s Location and the account as it was; the request\'s fields are ignored', async () => {
    const c = await fresh();
    const before = (await c.post(c.kid!, '')).json();
    const again = await c.newAccount({ eab: env.eab[NODE_A.name], contact: ['mailto:changed@example.org'] });
    assert.equal(again.status, 200);
    assert.equal(again.headers.location, c.kid);
    assert.deepEqual(again.json().contact, before.contact);
  });

  it('§7.3.2: an account update returns 200 and the account; "orders", "termsOfServiceAgreed", a "status" other than deactivated and unknown fields are ignored', async () => {
    const c = await fresh();
    const res = await c.post(c.kid!, { contact: ['mailto:ops@example.org'], orders: 'https://evil.example/', termsOfServiceAgreed: false, status: 'valid', futureField: 1 });
    assert.equal(res.status, 200, res.body);
    const a = res.json();
    assert.deepEqual(a.contact, ['mailto:ops@example.org']);
    assert.equal(a.status, 'valid');
    assert.equal(a.orders, `${c.kid}/orders`);
    assert.equal(a.futureField, undefined);
  });

  it('§7.3.4: the created account object includes "externalAccountBinding" with the same value as the request; a kid the server does not know is refused', async () => {
    const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    const binding = await c.eabFor(env.eab[NODE_A.name]!);
    const res = await c.post(c.directory.newAccount!, { termsOfServiceAgreed: true, externalAccountBinding: binding }, { useJwk: true });
    assert.equal(res.status, 201, res.body);
    assert.deepEqual(res.json().externalAccountBinding, binding);
    const d = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    const unknown = await d.newAccount({ eab: { keyId: 'no-such-key-id', macKey: env.eab[NODE_A.name]!.macKey } });
    assert.ok(unknown.status === 400 || unknown.status === 401 || unknown.status === 403, String(unknown.status));
    assert.match(String(unknown.json().type), /unauthorized|malformed/);
  });

  it('§7.3.5: keyChange refuses an inner JWS with a nonce, another url, another account, a wrong oldKey; success keeps pending orders; the old key is refused afterwards', async () => {
    const c = await fresh();
    const pending = String((await c.newOrder([NODE_A.dns[0]!])).headers.location);
    const url = c.directory.keyChange!;
    const newKey = await accountKey('ES256');
    const inner = async (over: { header?: Record<string, unknown>; payload?: Record<string, unknown> } = {}) => {
      const header = { alg: newKey.alg, jwk: newKey.jwk, url, ...over.header };
      const payload = { account: c.kid, oldKey: c.key.jwk, ...over.payload };
      return new FlattenedSign(te.encode(JSON.stringify(payload))).setProtectedHeader(header).sign(newKey.privateKey);
    };
    problemOf(await c.post(url, await inner({ header: { nonce: await c.nonce() } })), 'malformed', 400);
    problemOf(await c.post(url, await inner({ header: { url: client.directory.newOrder } })), 'malformed', 400);
    problemOf(await c.post(url, await inner({ payload: { account: other.kid } })), 'malformed', 400);
    problemOf(await c.post(url, await inner({ payload: { oldKey: newKey.jwk } })), 'unauthorized', 403);
    const ok = await c.post(url, await inner());
    assert.equal(ok.status, 200, ok.body);
    const oldKey = c.key;
    c.key = newKey;
    assert.equal((await c.post(pending, '')).json().status, 'pending', 'pending orders survive the key change');
    const stale = await c.post(pending, '', { key: oldKey });
    assert.ok(stale.status === 400 || stale.status === 401 || stale.status === 403, String(stale.status));
  });

  it('§7.3.6: deactivation answers 200 with the deactivated account; afterwards every request is 401 unauthorized; its certificates are not revoked', async () => {
    const c = await fresh();
    const { chainPem } = await c.issue([NODE_A.dns[0]!]);
    const res = await c.post(c.kid!, { status: 'deactivated' });
    assert.equal(res.status, 200);
    assert.equal(res.json().status, 'deactivated');
    problemOf(await c.post(c.kid!, ''), 'unauthorized', 401);
    problemOf(await c.newOrder([NODE_A.dns[0]!]), 'unauthorized', 401);
    const serial = firstCertificate(chainPem).serialNumber.toLowerCase().replace(/^0+/, '');
    assert.equal(await env.store.getRevocation(serial), undefined);
  });

  it('§7.4: newOrder is 201 with Location; the order reflects notBefore/notAfter as requested and the certificate carries exactly them', async () => {
    const c = await fresh();
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000).toISOString().replace('.000Z', 'Z');
    const res = await c.newOrder([NODE_A.dns[0]!], { notBefore, notAfter });
    assert.equal(res.status, 201, res.body);
    assert.match(String(res.headers.location), /^https:\/\//);
    assert.equal(Date.parse(String(res.json().notBefore)), Date.parse(notBefore));
    assert.equal(Date.parse(String(res.json().notAfter)), Date.parse(notAfter));
    const { chainPem } = await c.issue([NODE_A.dns[0]!], { notBefore, notAfter });
    const leaf = firstCertificate(chainPem);
    assert.equal(leaf.notBefore.getTime(), Date.parse(notBefore));
    assert.equal(leaf.notAfter.getTime(), Date.parse(notAfter));
  });

  it('§7.4: a successful finalize is 200 with the updated order object (valid, certificate URL)', async () => {
    const c = await fresh();
    const { body } = await c.readyOrder([NODE_A.dns[0]!]);
    const { der } = await testCsr([NODE_A.dns[0]!]);
    const fin = await c.post(body.finalize as string, { csr: base64url.encode(der) });
    assert.equal(fin.status, 200);
    assert.equal(fin.json().status, 'valid');
    assert.match(String(fin.json().certificate), /^https:\/\//);
  });

  it('§7.4.2: the certificate is application/pem-certificate-chain (leaf then issuer, nothing else) whatever the Accept header asks, and is POST-as-GET only', async () => {
    const c = await fresh();
    const { order } = await c.issue([NODE_A.dns[0]!]);
    const certUrl = order.certificate as string;
    for (const accept of [undefined, 'application/pem-certificate-chain', '*/*', 'application/pkix-cert']) {
      const jws = JSON.stringify(await c.sign(certUrl, ''));
      const res = await c.transport({ method: 'POST', url: certUrl, headers: { 'content-type': 'application/jose+json', ...(accept ? { accept } : {}) }, body: jws });
      assert.equal(res.status, 200, `${accept}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/pem-certificate-chain/);
      assert.match(res.body, /^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n){2}$/);
    }
    problemOf(await c.transport({ method: 'GET', url: certUrl }), 'malformed', 405);
  });

  it('§7.5.1: unknown fields in a challenge response are ignored (validation starts); authorization polls during validation are 200', async () => {
    const c = await fresh();
    let release!: () => void;
    env.validator.decide = () => new Promise((r) => (release = () => r({ valid: true })));
    try {
      const res = await c.newOrder([NODE_A.dns[1]!]);
      const authzUrl = (res.json().authorizations as string[])[0]!;
      const authz = (await c.post(authzUrl, '')).json<{ challenges: Array<{ url: string; type: string }> }>();
      const ch = await c.post(authz.challenges.find((x) => x.type === 'http-01')!.url, { futureResponseField: 'ignored' });
      assert.equal(ch.status, 200, ch.body);
      const during = await c.post(authzUrl, '');
      assert.equal(during.status, 200);
      release();
      assert.equal((await c.poll(authzUrl, (a) => a.status !== 'pending')).status, 'valid');
    } finally {
      env.validator.decide = () => ({ valid: true });
    }
  });

  it('§7.5.2: only the owning account may deactivate an authorization; a deactivated one is never sufficient for issuance', async () => {
    const c = await fresh();
    const { url, body } = await c.readyOrder([NODE_A.dns[0]!]);
    const authzUrl = (body.authorizations as string[])[0]!;
    problemOf(await other.post(authzUrl, { status: 'deactivated' }), 'unauthorized', 403);
    const res = await c.post(authzUrl, { status: 'deactivated' });
    assert.equal(res.status, 200);
    assert.equal(res.json().status, 'deactivated');
    assert.equal((await c.post(url, '')).json().status, 'invalid');
    const { der } = await testCsr([NODE_A.dns[0]!]);
    problemOf(await c.post(body.finalize as string, { csr: base64url.encode(der) }), 'orderNotReady', 403);
    const next = (await c.newOrder([NODE_A.dns[0]!])).json();
    assert.equal(next.status, 'pending', 'a new order does not reuse the deactivated authorization');
  });

  it('§7.6: an account holding valid authorizations for every name may revoke; a disallowed reason is badRevocationReason naming the allowed codes; success is 200 with a nonce', async () => {
    const issuer = await fresh();
    const { chainPem } = await issuer.issue([NODE_A.dns[0]!]);
    const der = base64url.encode(new Uint8Array(firstCertificate(chainPem).rawData));
    const holder = await fresh();
    await holder.readyOrder([NODE_A.dns[0]!]);
    const p = problemOf(await holder.post(holder.directory.revokeCert!, { certificate: der, reason: 7 }), 'badRevocationReason', 400);
    assert.match(String(p.detail), /keyCompromise/);
    const ok = await holder.post(holder.directory.revokeCert!, { certificate: der, reason: 4 });
    assert.equal(ok.status, 200, ok.body);
    assert.match(String(ok.headers['replay-nonce']), B64URL);
    problemOf(await issuer.post(issuer.directory.revokeCert!, { certificate: der }), 'alreadyRevoked', 400);
  });

  it('§8 / §11.3: challenge tokens are base64url without padding and carry at least 128 bits', async () => {
    const c = await fresh();
    const res = await c.newOrder([NODE_A.dns[1]!, NODE_A.dns[0]!]);
    const tokens = new Set<string>();
    for (const a of res.json().authorizations as string[]) {
      for (const ch of (await c.post(a, '')).json<{ challenges: Array<{ token: string }> }>().challenges) {
        assert.match(ch.token, B64URL);
        assert.ok(base64url.decode(ch.token).length >= 16, ch.token);
        tokens.add(ch.token);
      }
    }
    assert.ok(tokens.size >= 2);
  });
  it('§7.1.4: a dns identifier with an xn-- label that is not a properly encoded A-label is rejectedIdentifier; a proper one is accepted', async () => {
    const c = await fresh(NODE_SUFFIX.name);
    for (const bad of [`xn--a.${NODE_SUFFIX.suffix}`, `cache.xn--zz.${NODE_SUFFIX.suffix}`, `xn--abc.${NODE_SUFFIX.suffix}`]) {
      const p = problemOf(await c.newOrder([bad]), 'rejectedIdentifier', 400);
      const sub = (p.subproblems as Array<{ identifier: { value: string }; detail: string }>)[0]!;
      assert.equal(sub.identifier.value, bad);
      assert.match(sub.detail, /not a properly encoded A-label/);
    }
    assert.equal((await c.newOrder([`xn--bcher-kva.${NODE_SUFFIX.suffix}`])).status, 201);
  });

  it('§7.1.3: a new order lists the account\'s still-valid authorization for a name (it is taken into account) and is ready at once', async () => {
    const c = await fresh();
    const { order } = await c.issue([NODE_A.dns[0]!]);
    const again = await c.newOrder([NODE_A.dns[0]!]);
    assert.equal(again.status, 201);
    assert.deepEqual(again.json().authorizations, order.authorizations);
    assert.equal(again.json().status, 'ready');
  });

  // Last: it moves the shared clock.
  it('§7.4: an order the client did not complete before "expires" becomes invalid (or is gone), and cannot be finalized', async () => {
    const c = await fresh();
    const res = await c.newOrder([NODE_A.dns[1]!]);
    const url = String(res.headers.location);
    const saved = env.clock.now;
    env.clock.now = new Date(Date.parse(String(res.json().expires)) + 1000);
    try {
      const later = await c.post(url, '');
      if (later.status === 200) assert.equal(later.json().status, 'invalid');
      else problemOf(later, 'malformed', 404);
      const { der } = await testCsr([NODE_A.dns[1]!]);
      const fin = await c.post(res.json().finalize as string, { csr: base64url.encode(der) });
      assert.ok(fin.status === 403 || fin.status === 404, String(fin.status));
    } finally {
      env.clock.now = saved;
    }
  });
});

describe('RFC 8555 §7.6 and the CRL', () => {
  it('§7.6: a revocation without "reason" is listed with no reasonCode extension; one with a reason carries it', async () => {
    const env = await testEnv();
    const app = buildAcmeApp({ ...env.deps, crl: { signer: issuerCrlSigner(env.ca.issuer) } });
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const plain = firstCertificate((await c.issue([NODE_A.dns[0]!])).chainPem);
      const stolen = firstCertificate((await c.issue([NODE_A.dns[0]!])).chainPem);
      assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(plain.rawData)) })).status, 200);
      assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(stolen.rawData)), reason: 1 })).status, 200);
      const res = await app.inject({ method: 'GET', url: new URL('crl', BASE_URL).pathname });
      const crl = new x509.X509Crl(new Uint8Array(res.rawPayload));
      const entry = (serial: string) => crl.entries.find((e) => e.serialNumber.toLowerCase() === serial.toLowerCase())!;
      assert.equal(entry(plain.serialNumber).extensions.length, 0, 'no reasonCode (nor any other) entry extension');
      assert.equal(entry(stolen.serialNumber).reason, x509.X509CrlReason.keyCompromise);
    } finally {
      await app.close();
      await env.cleanup();
    }
  });
});

describe('RFC 8555 §8.3 / RFC 8737: failed validations with the real validator', () => {
  it('§7.5.1: an http-01 and a tls-alpn-01 validation that fail against real loopback ports are logged at warn with the problem type and reason, and reach the challenge', async () => {
    const { createServer } = await import('node:net');
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const { createChallengeValidator } = await import('../../src/acme/validation.js');
    const validator = createChallengeValidator({ resolve: Object.fromEntries(NODE_A.dns.map((n) => [n, '127.0.0.1'])), fallback: null, http01Port: closed, tlsAlpn01Port: closed, timeoutMs: 2000, attempts: 1 });
    const lines: Array<Record<string, unknown>> = [];
    const env = await testEnv({ validator, logger: { level: 'info', stream: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } } });
    const app = buildAcmeApp(env.deps);
    try {
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      for (const [type, name] of [['http-01', NODE_A.dns[0]!], ['tls-alpn-01', NODE_A.dns[1]!]] as const) {
        const authzUrl = ((await c.newOrder([name])).json().authorizations as string[])[0]!;
        const authz = (await c.post(authzUrl, '')).json<{ challenges: Array<{ url: string; type: string }> }>();
        await c.post(authz.challenges.find((x) => x.type === type)!.url, {});
        const done = await c.poll(authzUrl, (a) => a.status !== 'pending', 10_000);
        assert.equal(done.status, 'invalid', type);
        const err = (done.challenges as Array<{ type: string; error?: { type: string } }>).find((x) => x.type === type)!.error!;
        assert.equal(err.type, ERR + 'connection', type);
        const find = () => lines.find((l) => l.msg === 'challenge validation failed' && l.identifier === name);
        // The log line follows the stored result; give the event loop a moment under load.
        for (let i = 0; i < 500 && !find(); i++) await new Promise((r) => setTimeout(r, 10));
        const logged = find();
        assert.ok(logged, `${type}: ${JSON.stringify(lines.map((l) => l.msg))}`);
        assert.equal(logged.level, 40, 'warn');
        assert.equal(logged.problem, 'connection');
        assert.match(String(logged.detail), /refused|connect/i);
      }
    } finally {
      await app.close();
      await env.cleanup();
    }
  });
});
