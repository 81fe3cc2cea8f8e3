// §7.4: the certificate handed out must be exactly the one decided. A signer whose leaf names other
// names is caught by parsing the leaf; a signer that says it encoded the request itself (the
// per-issuer template) is held to the validity it reports. Either way: serverInternal, nothing stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import type { LeafSigner } from '../../src/acme/orders.js';
import { testCa } from './helpers/ca.js';
import { BASE_URL, NODE_A, testEnv } from './helpers/deps.js';
import { injectTransport, TestAcmeClient, testCsr } from './helpers/client.js';

const lying = (ca: Awaited<ReturnType<typeof testCa>>): Record<string, LeafSigner> => ({
  'other names': { signLeaf: (req) => ca.signer.signLeaf({ ...req, publicKey: req.publicKey, dnsNames: [...req.dnsNames, 'x.' + req.dnsNames[0]] }) },
  'template, other validity': {
    signLeaf: async (req) => ({ ...(await ca.signer.signLeaf(req)), notAfter: new Date(req.notAfter.getTime() + 1000), akiKeyId: 'aa', encodedFromRequest: true }),
  },
});

for (const kind of ['other names', 'template, other validity']) {
  test(`a signer returning a certificate other than decided (${kind}) is serverInternal and nothing is issued`, async (t) => {
    const ca = await testCa();
    const env = await testEnv({ signer: lying(ca)[kind]! });
    const app = buildAcmeApp(env.deps);
    t.after(async () => {
      await app.close();
      await env.cleanup();
    });
    const client = await TestAcmeClient.create(injectTransport(app), BASE_URL + 'directory');
    await client.newAccount({ eab: env.eab[NODE_A.name] });
    const names = [NODE_A.dns[0]!];
    const { body } = await client.readyOrder(names);
    const res = await client.post(body.finalize as string, { csr: base64url.encode((await testCsr(names)).der) });
    assert.equal(res.status, 500);
    assert.match(res.json<{ detail: string }>().detail, /other than the one decided/);
    assert.equal((await env.store.listCertificates()).length, 0);
  });
}
