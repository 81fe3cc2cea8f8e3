import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnsNamePermitted, dnsSubtreesWithin, nameConstraintsExtension, nameConstraintsOf, namesOutsideConstraints, normalizeDnsSubtree, type NameConstraintsSpec } from '../../src/ca/constraints.js';
import { generateKeyPair } from '../../src/ca/keys.js';
import { x509 } from '../../src/ca/x509.js';
import { CaError } from '../../src/ca/errors.js';

test('dnsNamePermitted follows RFC 5280 §4.2.1.10 (whole labels, case-insensitive)', () => {
  const permitted = ['n3x.internal', 'n3x.example.com'];
  const cases: [string, boolean][] = [
    ['n3x.internal', true],
    ['cache.nuc-1.n3x.internal', true],
    ['CACHE.N3X.Internal', true],
    ['cache.n3x.internal.', true],
    ['*.nuc-1.n3x.internal', true],
    ['n3x.example.com', true],
    ['a.n3x.example.com', true],
    ['eviln3x.internal', false],
    ['n3x.internal.evil.org', false],
    ['example.com', false],
    ['internal', false],
    ['', false],
  ];
  for (const [name, want] of cases) assert.equal(dnsNamePermitted(name, permitted), want, name);
  // A leading dot: strict subdomains only.
  assert.equal(dnsNamePermitted('a.n3x.internal', ['.n3x.internal']), true);
  assert.equal(dnsNamePermitted('n3x.internal', ['.n3x.internal']), false);
  assert.equal(dnsNamePermitted('anything.example', []), false);
});

test('dnsSubtreesWithin: equal or narrower only', () => {
  const root = ['n3x.internal', 'n3x.example.com'];
  assert.equal(dnsSubtreesWithin(['n3x.internal'], root), true);
  assert.equal(dnsSubtreesWithin(['site-a.n3x.internal', '.n3x.example.com'], root), true);
  assert.equal(dnsSubtreesWithin(['internal'], root), false);
  assert.equal(dnsSubtreesWithin(['n3x.internal', 'other.org'], root), false);
  assert.equal(dnsSubtreesWithin(['n3x.internal'], ['.n3x.internal']), false);
  assert.equal(dnsSubtreesWithin(['.n3x.internal'], ['.n3x.internal']), true);
  assert.equal(dnsSubtreesWithin(['.a.n3x.internal'], ['b.n3x.internal']), false);
});

test('normalizeDnsSubtree rejects what is not a DNS subtree', () => {
  assert.equal(normalizeDnsSubtree(' N3X.Internal. '), 'n3x.internal');
  assert.equal(normalizeDnsSubtree('.n3x.internal'), '.n3x.internal');
  for (const bad of ['', '.', '*.n3x.internal', 'a..b', '-a.b', '10.0.0.1', 'a b.c', 'x'.repeat(64) + '.com']) {
    assert.throws(() => normalizeDnsSubtree(bad), (e: unknown) => e instanceof CaError && e.code === 'CA_NAME_INVALID', bad);
  }
});

test('the nameConstraints extension round-trips through DER', () => {
  const ext = nameConstraintsExtension({ permittedDns: ['n3x.internal'], excludedIp: ['0.0.0.0/0', '::/0'] });
  assert.equal(ext.critical, true);
  const nc = nameConstraintsOf([ext]);
  assert.deepEqual(nc, { critical: true, permittedDns: ['n3x.internal'], excludedDns: [], permittedIp: [], excludedIp: ['0.0.0.0/0', '::/0'], other: [] });
  assert.equal(nameConstraintsOf([]), null);
});

async function caWith(spec: NameConstraintsSpec | null): Promise<x509.X509Certificate> {
  const keys = await generateKeyPair('ECDSA-P256');
  const extensions = [new x509.BasicConstraintsExtension(true, undefined, true), ...(spec ? [nameConstraintsExtension(spec)] : [])];
  return x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=t', notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000), keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions });
}

test('namesOutsideConstraints: every CA on the path applies (permitted and excluded dNSName subtrees), naming the CA and the subtree; a suffix is refused only when nothing under it is certifiable', async () => {
  const root = { label: 'the root', certificate: await caWith({ permittedDns: ['n3x.internal', 'n3x.example.com'], excludedDns: ['secret.n3x.internal'] }) };
  const intermediate = { label: 'the intermediate', certificate: await caWith({ permittedDns: ['n3x.internal'] }) };
  const none = { label: 'the other', certificate: await caWith(null) };
  const names = ['cache.nuc-1.n3x.internal', 'www.google.com', 'a.n3x.example.com', 'db.secret.n3x.internal', '*.site-a.n3x.internal', '*.secret.n3x.internal', '*.n3x.internal', 'wwwn3x.internal'];
  assert.deepEqual(namesOutsideConstraints(names, [intermediate, root, none]), [
    { name: 'www.google.com', reason: "outside the intermediate's permitted DNS names (n3x.internal)" },
    { name: 'a.n3x.example.com', reason: "outside the intermediate's permitted DNS names (n3x.internal)" },
    { name: 'db.secret.n3x.internal', reason: "inside the root's excluded DNS subtree secret.n3x.internal" },
    { name: '*.secret.n3x.internal', reason: "inside the root's excluded DNS subtree secret.n3x.internal" },
    { name: 'wwwn3x.internal', reason: "outside the intermediate's permitted DNS names (n3x.internal)" },
  ]);
  // The root alone permits n3x.example.com; a CA without constraints refuses nothing.
  assert.deepEqual(namesOutsideConstraints(['a.n3x.example.com', 'www.google.com'], [root]).map((r) => r.name), ['www.google.com']);
  assert.deepEqual(namesOutsideConstraints(['www.google.com'], [none]), []);
  assert.deepEqual(namesOutsideConstraints(['www.google.com'], []), []);
});
