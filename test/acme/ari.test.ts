// ARI (RFC 9773) through fastify inject: the renewalInfo resource (§4) with certIDs built here from
// the certificate's DER (not with the server's encoder), and `replaces` in newOrder (§5).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, Certificate, id_ce_authorityKeyIdentifier } from '@peculiar/asn1-x509';
import type { FastifyInstance } from 'fastify';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { windowForNode } from '../../src/status/ari-window.js';
import { BASE_URL, NODE_A, NODE_B, testEnv, type TestEnv } from './helpers/deps.js';
import { firstCertificate, injectTransport, TestAcmeClient } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';
const MALFORMED = 'urn:ietf:params:acme:error:malformed';

/** RFC 9773 §4.1 from the DER: the AKI keyIdentifier and the serial INTEGER's content octets. */
function certIdOf(chainPem: string): { certId: string; serialBytes: Buffer; aki: Buffer } {
  const der = firstCertificate(chainPem).rawData;
  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  const ext = tbs.extensions!.find((e) => e.extnID === id_ce_authorityKeyIdentifier)!;
  const aki = Buffer.from(AsnConvert.parse(ext.extnValue.buffer, AuthorityKeyIdentifier).keyIdentifier!.buffer);
  const serialBytes = Buffer.from(tbs.serialNumber);
  return { certId: `${aki.toString('base64url')}.${serialBytes.toString('base64url')}`, serialBytes, aki };
}

describe('ARI (RFC 9773)', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let a1: TestAcmeClient; // account of node A
  let a2: TestAcmeClient; // a second account bound to node A
  let b: TestAcmeClient; // account of node B
  /** The next leaf gets a serial with the high bit set (DER keeps a leading 00). */
  let highBitSerial = false;
  before(async () => {
    env = await testEnv();
    const signer = env.deps.signer;
    app = buildAcmeApp({
      ...env.deps,
      // issueLeaf takes an explicit serial; the test CA passes the request through.
      signer: { signLeaf: (req) => signer.signLeaf(highBitSerial ? ({ ...req, serial: 'f' + randomBytes(15).toString('hex').slice(1) } as typeof req) : req) },
    });
    const t = injectTransport(app);
    a1 = await TestAcmeClient.create(t, DIR_URL);
    a2 = await TestAcmeClient.create(t, DIR_URL);
    b = await TestAcmeClient.create(t, DIR_URL);
    assert.equal((await a1.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
    assert.equal((await a2.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
    assert.equal((await b.newAccount({ eab: env.eab[NODE_B.name] })).status, 201);
  });
  after(async () => {
    await app.close();
    await env.cleanup();
  });

  const get = (certId: string) => app.inject({ method: 'GET', url: `/acme/renewal-info/${certId}` });

  it('the directory advertises renewalInfo', () => {
    assert.equal(a1.directory.renewalInfo, BASE_URL + 'renewal-info');
  });

  it('renewalInfo: the spread last third of the lifetime, Retry-After, high-bit serials with their leading 00', async () => {
    highBitSerial = true;
    const r = await a1.issue([NODE_A.dns[0]!]);
    highBitSerial = false;
    const { certId, serialBytes, aki } = certIdOf(r.chainPem);
    assert.equal(serialBytes[0], 0, 'the DER serial of a high-bit serial starts with 00');
    const res = await get(certId);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const retry = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 60 && retry <= 6 * 3600, `Retry-After ${retry}`);
    const w = res.json<{ suggestedWindow: { start: string; end: string } }>().suggestedWindow;
    const leaf = firstCertificate(r.chainPem);
    const nb = leaf.notBefore.getTime();
    const life = leaf.notAfter.getTime() - nb;
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    assert.ok(start >= nb + (2 * life) / 3 - 1000 && end <= nb + (17 * life) / 18 && end > start, JSON.stringify(w));
    // The same answer `nixca status` computes.
    const rec = (await env.store.getCertificate(leaf.serialNumber.toLowerCase().replace(/^(00)+/, '')))!;
    const expect = windowForNode({ name: NODE_A.name, renewAfter: null }, rec);
    assert.equal(start, expect.start.getTime());
    assert.equal(end, expect.end.getTime());

    // The same serial without its leading 00 is a negative INTEGER: malformed, not "not found".
    const stripped = `${aki.toString('base64url')}.${serialBytes.subarray(1).toString('base64url')}`;
    assert.equal((await get(stripped)).json().type, MALFORMED);
  });

  it('renewalInfo: malformed certIDs are 400 malformed; unknown certificates are 404', async () => {
    const r = await a1.issue([NODE_A.dns[0]!]);
    const { certId, aki, serialBytes } = certIdOf(r.chainPem);
    for (const bad of ['nodot', `${certId}=`, `${aki.toString('base64')}.${serialBytes.toString('base64')}==`, `${aki.toString('base64url')}.`, `.${serialBytes.toString('base64url')}`, `${certId}.x`]) {
      const res = await get(encodeURIComponent(bad));
      assert.equal(res.statusCode, 400, bad);
      assert.equal(res.json().type, MALFORMED, bad);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
    const unknownSerial = `${aki.toString('base64url')}.${Buffer.from('01' + randomBytes(15).toString('hex'), 'hex').toString('base64url')}`;
    assert.equal((await get(unknownSerial)).statusCode, 404);
    const otherIssuer = `${randomBytes(20).toString('base64url')}.${serialBytes.toString('base64url')}`;
    assert.equal((await get(otherIssuer)).statusCode, 404, 'same serial, another issuer key');
    // RFC 9773 removed the POST update: it is not a route.
    assert.equal((await app.inject({ method: 'POST', url: `/acme/renewal-info/${certId}` })).statusCode, 404);
  });

  it('renew-now (the node\'s renewAfter) moves the window to now; revocation moves it into the past', async () => {
    const r = await a1.issue([NODE_A.dns[1]!]);
    const { certId } = certIdOf(r.chainPem);
    const before = (await get(certId)).json<{ suggestedWindow: { start: string } }>().suggestedWindow;
    assert.ok(Date.parse(before.start) > Date.now() + 86_400_000, 'default window is days away');
    const node = env.inventory.nodes.find((n) => n.name === NODE_A.name)!;
    node.renewAfter = new Date(Date.now() + 1000).toISOString();
    try {
      const res = await get(certId);
      const w = res.json<{ suggestedWindow: { start: string; end: string } }>().suggestedWindow;
      assert.ok(Date.parse(w.start) <= Date.now() + 1000 && Date.parse(w.end) <= Date.now() + 3_601_000, JSON.stringify(w));
    } finally {
      node.renewAfter = null;
    }
    const der = firstCertificate(r.chainPem).rawData;
    assert.equal((await a1.post(a1.directory.revokeCert!, { certificate: base64url.encode(new Uint8Array(der)), reason: 1 })).status, 200);
    const w = (await get(certId)).json<{ suggestedWindow: { start: string; end: string } }>().suggestedWindow;
    const revokedAt = Date.parse((await env.store.getRevocation(firstCertificate(r.chainPem).serialNumber.toLowerCase()))!.revokedAt);
    assert.ok(Date.parse(w.start) <= revokedAt && Date.parse(w.end) <= revokedAt + 1000, `revoked: window over by the revocation ${JSON.stringify(w)}`);
  });

  it('replaces: reflected in the order and the certificate; checked for form, account, shared identifier and replacement', async () => {
    const old = await a1.issue([NODE_A.dns[0]!]);
    const { certId } = certIdOf(old.chainPem);
    // The same rule decides who may download it (RFC 8555 §7.4.2): the node's accounts, no other.
    const certUrl = old.order.certificate as string;
    assert.equal((await a2.post(certUrl, '')).body, old.chainPem, 'another account of the same node downloads it');
    const foreign = await b.post(certUrl, '');
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json().type, 'urn:ietf:params:acme:error:unauthorized');

    const bad = await a1.newOrder([NODE_A.dns[0]!], { replaces: 'not-a-cert-id' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().type, MALFORMED);
    assert.equal((await a1.newOrder([NODE_A.dns[0]!], { replaces: 42 })).json().type, MALFORMED);
    const unknown = await a1.newOrder([NODE_A.dns[0]!], { replaces: certId.split('.')[0] + '.' + Buffer.from('0102', 'hex').toString('base64url') });
    assert.equal(unknown.json().type, MALFORMED);
    assert.match(unknown.json().detail as string, /no certificate/);
    const other = await b.newOrder([NODE_B.dns[0]!], { replaces: certId });
    assert.equal(other.status, 403);
    assert.equal(other.json().type, 'urn:ietf:params:acme:error:unauthorized');
    const disjoint = await a1.newOrder([NODE_A.dns[1]!], { replaces: certId });
    assert.equal(disjoint.status, 400);
    assert.match(disjoint.json().detail as string, /shares no identifier/);

    // An account bound to the same node may replace it (a node that re-registered).
    const ok = await a2.readyOrder([NODE_A.dns[0]!, NODE_A.dns[1]!], { replaces: certId });
    assert.equal(ok.body.replaces, certId);
    const again = await a1.newOrder([NODE_A.dns[0]!], { replaces: certId });
    assert.equal(again.status, 409);
    assert.equal(again.json().type, 'urn:ietf:params:acme:error:alreadyReplaced');
    assert.ok(again.headers['replay-nonce'], 'problem responses carry a nonce');

    // Finalized: the certificate records what it replaced, and the refusal survives the order.
    const { testCsr } = await import('./helpers/client.js');
    const { der } = await testCsr([NODE_A.dns[0]!, NODE_A.dns[1]!]);
    const fin = await a2.post(ok.body.finalize as string, { csr: base64url.encode(der) });
    assert.equal(fin.json().status, 'valid', fin.body);
    const serial = (fin.json().certificate as string).split('/').pop()!;
    const oldSerial = firstCertificate(old.chainPem).serialNumber.toLowerCase();
    assert.equal((await env.store.getCertificate(serial))!.replaces, oldSerial);
    const third = await a1.newOrder([NODE_A.dns[0]!], { replaces: certId });
    assert.equal(third.status, 409);
    assert.match(third.json().detail as string, new RegExp(`replaced by certificate ${serial}`));
  });

  it('replaces: of two concurrent orders replacing one certificate, exactly one is accepted', async () => {
    const old = await a1.issue([NODE_A.dns[1]!]);
    const { certId } = certIdOf(old.chainPem);
    // A store whose authorization lookup is slow widens the window between the check and the
    // order's creation (without the claim in src/acme/ari.ts all three are accepted).
    const slow = Object.assign(Object.create(null) as object, env.store, {
      findReusableAuthorization: async (...args: Parameters<NonNullable<typeof env.store.findReusableAuthorization>>) => {
        await new Promise((r) => setTimeout(r, 50));
        return env.store.findReusableAuthorization!(...args);
      },
    }) as typeof env.store;
    const app2 = buildAcmeApp({ ...env.deps, store: slow });
    try {
      const c = await TestAcmeClient.create(injectTransport(app2), DIR_URL);
      c.key = a1.key;
      c.kid = a1.kid;
      const results = await Promise.all([1, 2, 3].map(() => c.newOrder([NODE_A.dns[1]!], { replaces: certId })));
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409], results.map((r) => r.body).join('\n'));
    } finally {
      await app2.close();
    }
  });

  it('replaces: an order that became invalid does not block a new replacement', async () => {
    const old = await b.issue([NODE_B.dns[0]!]);
    const { certId } = certIdOf(old.chainPem);
    const first = await b.newOrder([NODE_B.dns[0]!], { replaces: certId });
    assert.equal(first.status, 201, first.body);
    const authzUrl = (first.json().authorizations as string[])[0]!;
    assert.equal((await b.post(authzUrl, { status: 'deactivated' })).json().status, 'deactivated');
    assert.equal((await b.post(String(first.headers.location), '')).json().status, 'invalid');
    const second = await b.newOrder([NODE_B.dns[0]!], { replaces: certId });
    assert.equal(second.status, 201, second.body);
    assert.equal(second.json().replaces, certId);
  });
});
