// Bad input never gets a 5xx (RFC 8555 §6.7: errors are problem documents the client can act on).
// Every member of every request type (JWS envelope, protected header, JWK, payload, EAB and
// keyChange inner JWS) is replaced by each FUZZ_VALUE, with valid signatures over the mutated
// texts; a value of another JSON type than the member's, or nested beyond the parser's bound, must
// get a 4xx problem document, and nothing may get a 5xx.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { base64url, exportJWK, generateKeyPair } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { BASE_URL, NODE_A, testEnv, type TestEnv } from './helpers/deps.js';
import { injectTransport, TestAcmeClient, testCsr } from './helpers/client.js';
import { FUZZ_VALUES, kindOf, kindOfText, memberPaths, Raw, replaceAt, Signed, toText, valueAt, type Json } from './helpers/fuzz.js';

const DIR_URL = BASE_URL + 'directory';

async function freshKey(): Promise<{ privateKey: CryptoKey; jwk: Record<string, string> }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey: privateKey as CryptoKey, jwk: (await exportJWK(publicKey)) as Record<string, string> };
}

describe('no 5xx for bad input (RFC 8555 §6.7)', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let client: TestAcmeClient;
  const urls: Record<string, string> = {};
  before(async () => {
    env = await testEnv();
    app = buildAcmeApp(env.deps);
    await app.ready();
    client = await TestAcmeClient.create(injectTransport(app), DIR_URL);
    assert.equal((await client.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
    const issued = await client.issue([NODE_A.dns[0]!]);
    urls.certificate = base64url.encode(Buffer.from(issued.chainPem.split('-----END')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, ''), 'base64'));
    const ready = await client.readyOrder([NODE_A.dns[1]!]);
    urls.order = ready.url;
    urls.finalize = ready.body.finalize as string;
    const pending = (await client.newOrder([NODE_A.dns[0]!, NODE_A.dns[1]!])).json<{ authorizations: string[] }>();
    urls.authz = pending.authorizations[0]!;
    urls.challenge = (await client.post(urls.authz, '')).json<{ challenges: Array<{ url: string }> }>().challenges[0]!.url;
    urls.csr = base64url.encode((await testCsr([NODE_A.dns[1]!])).der);
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });

  const account = () => ({ kind: 'ecdsa' as const, privateKey: client.key.privateKey });
  const kidHeader = async (url: string): Promise<Json> => ({ alg: 'ES256', nonce: await client.nonce(), url, kid: client.kid! });

  /** One template per request type, rebuilt for every request (fresh nonce, fresh keys). */
  const templates: Record<string, () => Promise<Json>> = {
    newAccount: async () => {
      const k = await freshKey();
      const url = client.directory.newAccount!;
      const eab = env.eab[NODE_A.name]!;
      const binding = new Signed({ alg: 'HS256', kid: eab.keyId, url }, k.jwk, { kind: 'hmac', secret: base64url.decode(eab.macKey) });
      return new Signed({ alg: 'ES256', nonce: await client.nonce(), url, jwk: k.jwk }, { termsOfServiceAgreed: true, contact: ['mailto:ops@example.test'], externalAccountBinding: binding }, { kind: 'ecdsa', privateKey: k.privateKey });
    },
    newOrder: async () => {
      const url = client.directory.newOrder!;
      const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000).toISOString();
      return new Signed(await kidHeader(url), { identifiers: [{ type: 'dns', value: NODE_A.dns[0]! }], notAfter }, account());
    },
    finalize: async () => new Signed(await kidHeader(urls.finalize!), { csr: urls.csr! }, account()),
    account: async () => new Signed(await kidHeader(client.kid!), { contact: ['mailto:ops@example.test'] }, account()),
    order: async () => new Signed(await kidHeader(urls.order!), '', account()),
    authz: async () => new Signed(await kidHeader(urls.authz!), { status: 'deactivated' }, account()),
    challenge: async () => new Signed(await kidHeader(urls.challenge!), {}, account()),
    revokeCert: async () => new Signed(await kidHeader(client.directory.revokeCert!), { certificate: urls.certificate!, reason: 4 }, account()),
    keyChange: async () => {
      const k = await freshKey();
      const url = client.directory.keyChange!;
      const inner = new Signed({ alg: 'ES256', jwk: k.jwk, url }, { account: client.kid!, oldKey: client.key.jwk as Json }, { kind: 'ecdsa', privateKey: k.privateKey });
      return new Signed(await kidHeader(url), inner, account());
    },
  };

  it('every member of every request, replaced by nesting, huge numbers and every wrong type, gets a 4xx problem (§6.7)', async (t) => {
    const figures = { requests: 0, '2xx': 0, '4xx': 0, '5xx': 0, expected4xxMissed: 0 };
    const failures: string[] = [];
    for (const [name, build] of Object.entries(templates)) {
      const sample = await build();
      for (const path of memberPaths(sample)) {
        const original = valueAt(sample, path);
        for (const v of FUZZ_VALUES) {
          const template = await build();
          const body = await toText(replaceAt(template, path, new Raw(v.text)));
          const url = (valueAt(template, ['header', 'url']) as string).replace(/^https:\/\/[^/]+/, '');
          const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/jose+json' }, payload: body });
          figures.requests++;
          if (typeof res.headers['replay-nonce'] === 'string') client.nonces.push(res.headers['replay-nonce']);
          const klass = `${Math.floor(res.statusCode / 100)}xx` as '2xx' | '4xx' | '5xx';
          figures[klass]++;
          const where = `${name} ${path.join('.')} = ${v.name}: ${res.statusCode} ${res.body.slice(0, 160)}`;
          if (res.statusCode >= 500) failures.push(where);
          const wrong = kindOfText(v.text) === 'deep' || kindOfText(v.text) !== kindOf(original);
          if (wrong && !(res.statusCode >= 400 && res.statusCode < 500)) {
            figures.expected4xxMissed++;
            failures.push('expected 4xx: ' + where);
          }
          if (res.statusCode >= 400) {
            assert.equal(res.headers['content-type'], 'application/problem+json', where);
            assert.match(res.json<{ type: string }>().type, /^urn:ietf:params:acme:error:/, where);
          }
        }
      }
    }
    t.diagnostic(`fuzz figures: ${JSON.stringify(figures)}`);
    assert.deepEqual(failures, []);
    assert.equal(figures['5xx'], 0);
    assert.ok(figures.requests > 2000, `${figures.requests} requests`);
  });

  it('every member of the JWS envelope, replaced by every value, is a 4xx', async () => {
    for (const member of ['protected', 'payload', 'signature']) {
      for (const v of FUZZ_VALUES) {
        // POST-as-GET: the empty payload is the valid one (§6.3).
        if (member === 'payload' && v.text === '""') continue;
        const jws = JSON.parse(await toText(await templates.order!())) as Record<string, string>;
        const body = Object.entries(jws).map(([k, x]) => `${JSON.stringify(k)}:${k === member ? v.text : JSON.stringify(x)}`).join(',');
        const res = await app.inject({ method: 'POST', url: new URL(urls.order!).pathname, headers: { 'content-type': 'application/jose+json' }, payload: `{${body}}` });
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${member} = ${v.name}: ${res.statusCode} ${res.body.slice(0, 160)}`);
      }
    }
    for (const v of FUZZ_VALUES) {
      const res = await app.inject({ method: 'POST', url: new URL(urls.order!).pathname, headers: { 'content-type': 'application/jose+json' }, payload: v.text });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `body = ${v.name}: ${res.statusCode}`);
      assert.equal(res.headers['content-type'], 'application/problem+json');
    }
  });

  it('URLs the router refuses (bad percent-encoding, an over-long path segment) get problem documents with a nonce and the index link, GET and POST', async () => {
    const long = 'a'.repeat(3000);
    // renewalInfo is GET only (RFC 9773 §4.1); the others POST-as-GET (a GET of them is refused too).
    const cases: Array<[string, number, Array<'GET' | 'POST'>]> = [
      [`/acme/order/${long}`, 414, ['GET', 'POST']],
      [`/acme/chall/${long}/x`, 414, ['GET', 'POST']],
      [`/acme/renewal-info/${long}`, 414, ['GET']],
      ['/acme/renewal-info/%E0%A4%A', 400, ['GET']],
      ['/acme/%', 400, ['GET', 'POST']],
    ];
    for (const [url, status, methods] of cases) {
      for (const method of methods) {
        const res = await app.inject({ method, url, ...(method === 'POST' ? { headers: { 'content-type': 'application/jose+json' }, payload: '{}' } : {}) });
        const what = `${method} ${url.slice(0, 40)}`;
        assert.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 160)}`);
        assert.equal(res.headers['content-type'], 'application/problem+json', what);
        assert.equal(res.json<{ type: string; status: number }>().type, 'urn:ietf:params:acme:error:malformed', what);
        assert.equal(res.json<{ status: number }>().status, status, what);
        assert.match(String(res.headers['replay-nonce']), /^[A-Za-z0-9_-]{16,}$/, what);
        assert.match(String(res.headers.link), /rel="index"/, what);
      }
    }
  });

  it('an oversize body gets a 413 problem document over a real connection, not a reset (RFC 9112 §9.6)', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    // Like curl: send the whole request first, read the answer afterwards.
    const send = (head: string, body: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1');
        let answer = '';
        sock.on('data', (d) => (answer += d.toString('latin1')));
        sock.on('error', (err) => reject(new Error(`${err.message} after ${answer.length} bytes of answer`)));
        sock.on('close', () => resolve(answer));
        sock.write(head);
        sock.write(body);
      });
    const big = Buffer.alloc(4 * 1024 * 1024, 0x41);
    for (const [what, head, body] of [
      ['Content-Length', `POST /acme/new-order HTTP/1.1\r\nHost: x\r\nContent-Type: application/jose+json\r\nContent-Length: ${big.length}\r\n\r\n`, big],
      ['chunked', 'POST /acme/new-order HTTP/1.1\r\nHost: x\r\nContent-Type: application/jose+json\r\nTransfer-Encoding: chunked\r\n\r\n', Buffer.concat([Buffer.from(big.length.toString(16) + '\r\n'), big, Buffer.from('\r\n0\r\n\r\n')])],
    ] as const) {
      const answer = await send(head, body);
      assert.match(answer, /^HTTP\/1\.1 413 /, what);
      assert.match(answer, /content-type: application\/problem\+json/i, what);
      assert.match(answer, /"type":"urn:ietf:params:acme:error:malformed"/, what);
      assert.match(answer, /exceeds 262144 bytes/, what);
    }
  });
});
