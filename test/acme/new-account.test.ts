// newAccount (RFC 8555 §7.3) tries the creation first and looks the key up only when the store
// refuses it (or the payload or a rate limit is refused): a new key costs one store write, and a
// known key still gets its account exactly as when it was looked up first (§7.3.1: any fields
// ignored), with its status and node binding checked; only creations count against the rate limits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { BASE_URL, NODE_A, NODE_B, NODE_SUFFIX, testEnv, type TestEnv } from './helpers/deps.js';
import { injectTransport, TestAcmeClient, type HttpResponse } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';

function problemType(res: HttpResponse): string {
  return String(res.json<{ type?: string }>().type).replace('urn:ietf:params:acme:error:', '');
}

describe('newAccount: create first, look the key up only when refused', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let lookups = 0;
  before(async () => {
    env = await testEnv({ eabRequired: true, limits: { newAccountsPerEabCredential: { count: 2, windowMs: 3_600_000 } } });
    const original = env.store.findAccountByThumbprint.bind(env.store);
    env.store.findAccountByThumbprint = (tp) => {
      lookups++;
      return original(tp);
    };
    app = buildAcmeApp(env.deps);
    await app.ready();
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });
  const client = () => TestAcmeClient.create(injectTransport(app), DIR_URL);
  const counted = async <T>(fn: () => Promise<T>): Promise<{ result: T; lookups: number }> => {
    const before = lookups;
    const result = await fn();
    return { result, lookups: lookups - before };
  };

  it('a new key: created without any lookup of the key; a known key: 200 with the unchanged account, whatever the payload says', async () => {
    const c = await client();
    const created = await counted(() => c.newAccount({ eab: env.eab[NODE_A.name] }));
    assert.equal(created.result.status, 201, created.result.body);
    assert.equal(created.lookups, 0, 'a new key is one store write, no lookup');
    const account = (await c.post(c.kid!, '')).json();
    const kid = c.kid;
    const asKnown = async (payload: Record<string, unknown>, what: string) => {
      const res = await c.post(c.directory.newAccount!, payload, { useJwk: true });
      assert.equal(res.status, 200, `${what}: ${res.body}`);
      assert.equal(res.headers.location, kid, what);
      assert.deepEqual(res.json(), account, `${what}: the account as it was`);
    };
    await asKnown({ termsOfServiceAgreed: 'yes', contact: 'mailto:not-an-array@example.org' }, 'an invalid payload');
    await asKnown({ contact: ['tel:+1555'] }, 'an unsupported contact');
    await asKnown({ termsOfServiceAgreed: true }, 'no EAB where the server requires one');
    await asKnown({ externalAccountBinding: { protected: 'x', payload: 'y', signature: 'z' } }, 'a broken EAB');
    await asKnown({ externalAccountBinding: await c.eabFor(env.eab[NODE_B.name]!), contact: ['mailto:other@example.org'] }, "another node's valid EAB");
    // The same refusals for a key without an account are what they always were.
    const d = await client();
    assert.equal(problemType(await d.post(d.directory.newAccount!, { termsOfServiceAgreed: 'yes' }, { useJwk: true })), 'malformed');
    assert.equal(problemType(await d.post(d.directory.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true })), 'externalAccountRequired');
    assert.equal(problemType(await d.newAccount({ onlyReturnExisting: true })), 'accountDoesNotExist');
  });

  it('a known key whose account is deactivated is 401 unauthorized, with a valid payload or an invalid one', async () => {
    const c = await client();
    assert.equal((await c.newAccount({ eab: env.eab[NODE_B.name] })).status, 201);
    assert.equal((await c.post(c.kid!, { status: 'deactivated' })).json().status, 'deactivated');
    for (const payload of [{ termsOfServiceAgreed: true, externalAccountBinding: await c.eabFor(env.eab[NODE_B.name]!) }, { termsOfServiceAgreed: 'yes' }]) {
      const res = await c.post(c.directory.newAccount!, payload, { useJwk: true });
      assert.equal(res.status, 401, res.body);
      assert.equal(problemType(res), 'unauthorized');
    }
  });

  it('concurrent newAccount requests with one key: one account, every request gets it', async () => {
    const c = await client();
    const payload = { termsOfServiceAgreed: true, externalAccountBinding: await c.eabFor(env.eab[NODE_SUFFIX.name]!) };
    const results = await Promise.all(Array.from({ length: 8 }, () => c.post(c.directory.newAccount!, payload, { useJwk: true })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201], results.map((r) => r.body).join('\n'));
    assert.equal(new Set(results.map((r) => r.headers.location)).size, 1, 'the same account for all');
    const thumbprint = await c.thumbprint();
    assert.equal((await env.store.listAccounts()).filter((a) => a.thumbprint === thumbprint).length, 1);
  });
});

describe('newAccount and the new-account rate limits (§6.6)', () => {
  const rig = async (t: { after: (fn: () => Promise<void>) => void }, count: number) => {
    const env = await testEnv({ eabRequired: true, limits: { newAccountsPerEabCredential: { count, windowMs: 3_600_000 } } });
    const app = buildAcmeApp(env.deps);
    t.after(async () => {
      await app.close();
      await env.cleanup();
    });
    await app.ready();
    return { env, client: () => TestAcmeClient.create(injectTransport(app), DIR_URL) };
  };

  it("a known key's newAccount uses up nothing; at the limit it still gets its account", async (t) => {
    const { env, client } = await rig(t, 2);
    const eab = env.eab[NODE_A.name]!;
    const known = await client();
    assert.equal((await known.newAccount({ eab })).status, 201);
    for (let i = 0; i < 5; i++) assert.equal((await known.newAccount({ eab })).status, 200);
    assert.equal((await (await client()).newAccount({ eab })).status, 201, 'the second creation of the window');
    const third = await (await client()).newAccount({ eab });
    assert.equal(third.status, 429, third.body);
    assert.equal((await known.newAccount({ eab })).status, 200, 'a known key at the limit');
  });

  it('a concurrent burst of new keys cannot pass the limit together', async (t) => {
    const { env, client } = await rig(t, 3);
    const eab = env.eab[NODE_A.name]!;
    const clients = await Promise.all(Array.from({ length: 10 }, () => client()));
    const results = await Promise.all(clients.map((c) => c.newAccount({ eab })));
    assert.equal(results.filter((r) => r.status === 201).length, 3, results.map((r) => r.status).join(','));
    assert.equal(results.filter((r) => r.status === 429).length, 7);
  });
});
