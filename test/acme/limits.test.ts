// Limits on every unbounded resource (RFC 8555 §6.6: rateLimited, 429, Retry-After), and the
// listener's connection cap and timeouts on a real loopback socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { applyConnectionLimits, connectionServerOptions } from '../../src/acme/http/connection.js';
import { BASE_URL, NODE_A, NODE_SUFFIX, testEnv, type TestEnv } from './helpers/deps.js';
import { injectTransport, TestAcmeClient, type HttpResponse } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';

function assertRateLimited(res: HttpResponse, maxSeconds: number): number {
  assert.equal(res.status, 429, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  assert.equal(res.json().type, 'urn:ietf:params:acme:error:rateLimited');
  const retry = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= maxSeconds, `Retry-After ${res.headers['retry-after']}`);
  return retry;
}

describe('resource limits (RFC 8555 §6.6)', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  const limits = {
    pendingOrdersPerAccount: 3,
    pendingAuthorizationsPerAccount: 4,
    identifiersPerOrder: 3,
    newAccountsPerEabCredential: { count: 3, windowMs: 3_600_000 },
    newAccountsPerIp: { count: 1000, windowMs: 3_600_000 },
  };
  before(async () => {
    env = await testEnv({ limits, eabRequired: false });
    app = buildAcmeApp(env.deps);
    await app.ready();
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });
  const client = async () => TestAcmeClient.create(injectTransport(app), DIR_URL);
  const suffixName = (i: number) => `h${i}.${NODE_SUFFIX.suffix}`;

  it('§6.6: unfinished orders per account are capped (429 rateLimited, Retry-After until the oldest expires); a finished one frees its place', async () => {
    const c = await client();
    assert.equal((await c.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
    const first = await c.readyOrder([NODE_A.dns[0]!]);
    for (let i = 1; i < 3; i++) assert.equal((await c.newOrder([NODE_A.dns[0]!])).status, 201);
    assertRateLimited(await c.newOrder([NODE_A.dns[0]!]), 86_400);
    // Deactivating the authorization of the first (ready) order makes it invalid: one place frees.
    const authz = (await c.post(first.url, '')).json<{ authorizations: string[] }>().authorizations[0]!;
    assert.equal((await c.post(authz, { status: 'deactivated' })).status, 200);
    assert.equal((await c.newOrder([NODE_A.dns[1]!])).status, 201);
  });

  it('§6.6: pending authorizations per account are capped, counting the ones a new order would add', async () => {
    const c = await client();
    assert.equal((await c.newAccount({ eab: env.eab[NODE_SUFFIX.name] })).status, 201);
    assert.equal((await c.newOrder([suffixName(1), suffixName(2), suffixName(3)])).status, 201);
    assertRateLimited(await c.newOrder([suffixName(4), suffixName(5)]), 86_400);
    assert.equal((await c.newOrder([suffixName(4)])).status, 201, 'exactly at the cap is allowed');
    assertRateLimited(await c.newOrder([suffixName(6)]), 86_400);
  });

  it('identifiers per order are capped (rejectedIdentifier)', async () => {
    const c = await client();
    assert.equal((await c.newAccount({ eab: env.eab[NODE_SUFFIX.name] })).status, 201);
    const res = await c.newOrder([suffixName(7), suffixName(8), suffixName(9), suffixName(10)]);
    assert.equal(res.status, 400);
    assert.equal(res.json().type, 'urn:ietf:params:acme:error:rejectedIdentifier');
    assert.match(String(res.json().detail), /at most 3 identifiers/);
  });

  it('§6.6: concurrent newOrders of one account cannot overshoot the cap together', async () => {
    const c = await client();
    assert.equal((await c.newAccount({ eab: env.eab[NODE_SUFFIX.name] })).status, 201);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => c.newOrder([suffixName(100 + i)])));
    assert.equal(results.filter((r) => r.status === 201).length, 3, results.map((r) => r.status).join(','));
    assert.ok(results.every((r) => r.status === 201 || r.status === 429));
  });

  it('§6.6: new accounts per EAB credential are capped per window; the window passing lifts it', async () => {
    // The NODE_A and NODE_SUFFIX credentials were used above; this one is fresh.
    const eab = env.eab['nuc-2']!;
    for (let i = 0; i < 3; i++) assert.equal((await (await client()).newAccount({ eab })).status, 201);
    const retry = assertRateLimited(await (await client()).newAccount({ eab }), 3600);
    assert.ok(retry > 3000, `Retry-After ${retry} is about the window`);
    env.clock.now = new Date(env.clock.now.getTime() + 3_600_001);
    try {
      assert.equal((await (await client()).newAccount({ eab })).status, 201);
    } finally {
      env.clock.now = new Date();
    }
  });

  it('§6.6: new accounts per client IP are capped (--eab optional); another address is not affected', async (t) => {
    const ipEnv = await testEnv({ eabRequired: false, limits: { newAccountsPerIp: { count: 5, windowMs: 3_600_000 } } });
    const ipApp = buildAcmeApp(ipEnv.deps);
    t.after(async () => {
      await ipApp.close();
      await ipEnv.cleanup();
    });
    const create = async (remoteAddress: string) => {
      const c = await TestAcmeClient.create(injectTransport(ipApp), DIR_URL);
      const body = JSON.stringify(await c.sign(c.directory.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true }));
      const res = await ipApp.inject({ method: 'POST', url: '/acme/new-account', remoteAddress, headers: { 'content-type': 'application/jose+json' }, payload: body });
      return { status: res.statusCode, headers: res.headers, body: res.body, json: <T>() => JSON.parse(res.body) as T } as HttpResponse;
    };
    for (let i = 0; i < 5; i++) assert.equal((await create('192.0.2.7')).status, 201);
    assertRateLimited(await create('192.0.2.7'), 3600);
    assert.equal((await create('192.0.2.8')).status, 201);
  });
});

describe('listener limits', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let port: number;
  let server: ReturnType<typeof createServer>;
  before(async () => {
    env = await testEnv();
    app = buildAcmeApp(env.deps);
    await app.ready();
    const l = { maxConnections: 3, headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 300 };
    server = createServer(connectionServerOptions(l), (req, res) => app.routing(req, res));
    applyConnectionLimits(server, l);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await app.close();
    await env.cleanup();
  });
  const open = () =>
    new Promise<{ sock: Socket; closed: Promise<string> }>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('error', () => undefined);
      const closed = new Promise<string>((r) => sock.on('close', () => r(data)));
      sock.on('connect', () => resolve({ sock, closed }));
    });
  const within = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

  it('a connection beyond the cap is closed at once; one that never finishes its headers is closed after the headers timeout', async () => {
    const held = await Promise.all([open(), open(), open()]);
    for (const h of held) h.sock.write('GET /acme/directory HTTP/1.1\r\nHost: x\r\n');
    const extra = await open();
    assert.equal(await within(extra.closed, 5000, 'connection over the cap'), '');
    // The held ones never send the blank line: node answers 408 and closes them.
    for (const h of held) assert.match(await within(h.closed, 10_000, 'unfinished headers'), /^HTTP\/1\.1 408|^$/);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const c = await open();
    c.sock.write('GET /acme/directory HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const answer = await within(c.closed, 10_000, 'idle keep-alive connection');
    assert.match(answer, /^HTTP\/1\.1 200 /);
  });
});
