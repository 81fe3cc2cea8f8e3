// The served CRL (RFC 5280 §5) through fastify inject: signed by the intermediate, regenerated on
// every ACME revocation, at start (revocations written while stopped), when the store's revocations
// change and when it gets old; CRL numbers grow across restarts; expired entries leave.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { issuerCrlSigner } from '../../src/acme/crl.js';
import { crlNumberOf } from '../../src/ca/crl.js';
import { x509 } from '../../src/ca/x509.js';
import { openAcmeStore } from '../../src/store/acme.js';
import { BASE_URL, NODE_A, testEnv } from './helpers/deps.js';
import { firstCertificate, injectTransport, TestAcmeClient } from './helpers/client.js';
import type { FastifyInstance } from 'fastify';

const DIR_URL = BASE_URL + 'directory';

/**
 * The served CRL once `ready` holds for it: the periodic check runs every few ms, but a loaded
 * machine may delay it well past any fixed sleep (gives up after 10 s with the last CRL's state).
 */
async function crlWhen(app: FastifyInstance, ready: (crl: x509.X509Crl) => boolean, what: string): Promise<x509.X509Crl> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const crl = await fetchCrl(app);
    if (ready(crl)) return crl;
    if (Date.now() > deadline) assert.fail(`${what}: still CRL number ${crlNumberOf(crl)} with ${crl.entries.length} entries after 10 s`);
    await sleep(20);
  }
}

async function fetchCrl(app: FastifyInstance): Promise<x509.X509Crl> {
  const res = await app.inject({ method: 'GET', url: '/acme/crl' });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/pkix-crl');
  return new x509.X509Crl(new Uint8Array(res.rawPayload));
}

describe('served CRL', () => {
  it('intermediate-signed, listing ACME revocations at once, numbers growing across restarts, revocations made while stopped included at start', async () => {
    const env = await testEnv();
    const crl = { signer: issuerCrlSigner(env.ca.issuer) };
    let app = buildAcmeApp({ ...env.deps, crl });
    let store = env.store;
    try {
      await app.ready();
      const first = await fetchCrl(app);
      assert.ok(await first.verify({ publicKey: await env.ca.intermediate.publicKey.export() }), 'signed by the intermediate');
      assert.equal(first.issuer, env.ca.intermediate.subject);
      assert.equal(first.entries.length, 0);
      assert.equal(first.nextUpdate!.getTime() - first.thisUpdate.getTime(), 7 * 86_400_000);
      const n1 = crlNumberOf(first)!;
      assert.ok(n1 >= 1);

      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const good = firstCertificate((await c.issue([NODE_A.dns[0]!])).chainPem);
      const bad = firstCertificate((await c.issue([NODE_A.dns[0]!])).chainPem);
      assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(bad.rawData)), reason: 1 })).status, 200);
      const second = await fetchCrl(app);
      assert.ok(crlNumberOf(second)! > n1);
      assert.deepEqual(second.entries.map((e) => [e.serialNumber.toLowerCase(), e.reason]), [[bad.serialNumber.toLowerCase(), x509.X509CrlReason.keyCompromise]]);
      assert.ok(!second.entries.some((e) => e.serialNumber.toLowerCase() === good.serialNumber.toLowerCase()));

      // Stopped; a revocation is written to the store directly (what `nixca cert revoke` does).
      await app.close();
      await store.close();
      store = await openAcmeStore(env.dir, { now: () => env.clock.now });
      await store.putRevocation({ serial: good.serialNumber.toLowerCase(), reason: 9, revokedAt: new Date().toISOString(), by: 'operator' });
      app = buildAcmeApp({ ...env.deps, store, crl });
      await app.ready();
      const third = await fetchCrl(app);
      assert.ok(crlNumberOf(third)! > crlNumberOf(second)!, 'the CRL number is persisted and grows');
      assert.deepEqual(third.entries.map((e) => e.serialNumber.toLowerCase()).sort(), [bad.serialNumber, good.serialNumber].map((s) => s.toLowerCase()).sort());
      assert.equal(third.entries.find((e) => e.serialNumber.toLowerCase() === good.serialNumber.toLowerCase())!.reason, x509.X509CrlReason.privilegeWithdrawn);
    } finally {
      await app.close();
      await store.close();
      await env.cleanup();
    }
  });

  it('regenerated when old (well before nextUpdate) and without the entries of expired certificates', async () => {
    const env = await testEnv();
    const app = buildAcmeApp({ ...env.deps, crl: { signer: issuerCrlSigner(env.ca.issuer), checkEveryMs: 20 } });
    try {
      await app.ready();
      const c = await TestAcmeClient.create(injectTransport(app), DIR_URL);
      await c.newAccount({ eab: env.eab[NODE_A.name] });
      const cert = firstCertificate((await c.issue([NODE_A.dns[0]!])).chainPem);
      await c.post(c.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(cert.rawData)) });
      const before = await fetchCrl(app);
      assert.equal(before.entries.length, 1);
      assert.equal(before.entries[0]!.reason, undefined, 'unspecified is omitted (RFC 5280 §5.3.1)');
      await sleep(100);
      assert.equal(crlNumberOf(await fetchCrl(app)), crlNumberOf(before), 'nothing changed: same CRL');
      // A revocation that reaches the store without the ACME route (another code path of this
      // process): the periodic check sees the count change.
      const other = firstCertificate((await c.issue([NODE_A.dns[1]!])).chainPem);
      await env.store.putRevocation({ serial: other.serialNumber.toLowerCase(), reason: 4, revokedAt: env.clock.now.toISOString(), by: 'operator' });
      const changed = await crlWhen(app, (crl) => crlNumberOf(crl)! > crlNumberOf(before)!, 'the periodic check sees the new revocation');
      assert.equal(changed.entries.length, 2);
      env.clock.now = new Date(env.clock.now.getTime() + 25 * 3_600_000);
      const daily = await crlWhen(app, (crl) => crlNumberOf(crl)! > crlNumberOf(changed)!, 'regenerated when a day old');
      assert.equal(daily.thisUpdate.getTime(), Math.floor(env.clock.now.getTime() / 1000) * 1000);
      assert.equal(daily.entries.length, 2);
      env.clock.now = new Date(cert.notAfter.getTime() + 1000);
      const pruned = await crlWhen(app, (crl) => crlNumberOf(crl)! > crlNumberOf(daily)!, 'regenerated after the certificate expired');
      assert.equal(pruned.entries.length, 0, 'expired certificates leave the CRL (RFC 5280 §3.3)');
    } finally {
      await app.close();
      await env.cleanup();
    }
  });

  it('no CRL route when not configured', async () => {
    const env = await testEnv();
    const app = buildAcmeApp(env.deps);
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/acme/crl' })).statusCode, 404);
    } finally {
      await app.close();
      await env.cleanup();
    }
  });
});
