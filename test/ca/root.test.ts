// The root and intermediate profiles, checked by the real openssl (the acceptance tool of issue 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { permittedDnsOf } from '../../src/ca/constraints.js';
import { CaError } from '../../src/ca/errors.js';
import { createIntermediateRequest, parseCsr, signIntermediate } from '../../src/ca/intermediate.js';
import { generateKeyPair } from '../../src/ca/keys.js';
import { issueLeaf, type IssuerMaterial } from '../../src/ca/leaf.js';
import { createRoot } from '../../src/ca/root.js';
import { x509 } from '../../src/ca/x509.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { openssl, put } from './openssl.js';

const isCode = (code: string) => (e: unknown) => e instanceof CaError && e.code === code;

async function pki(opts: { allowIp?: boolean } = {}) {
  const root = await createRoot({ commonName: 'n3x Internal Root CA', permittedDns: ['n3x.internal', 'n3x.example.com'], allowIp: opts.allowIp });
  const rootMaterial: IssuerMaterial = { certificate: root.certificate, privateKey: root.keys.privateKey };
  const req = await createIntermediateRequest({ commonName: 'n3x Issuing CA 1' });
  const intermediate = await signIntermediate(rootMaterial, req.csr);
  const issuer: IssuerMaterial = { certificate: intermediate, privateKey: req.keys.privateKey };
  return { root, rootMaterial, req, intermediate, issuer };
}

async function leafFor(issuer: IssuerMaterial, names: string[]) {
  const kp = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  return issueLeaf(issuer, { publicKey: kp.publicKey, dnsNames: names, notBefore: new Date(now - 60_000), notAfter: new Date(now + 7 * 86_400_000) });
}

test('root and intermediate profiles as openssl shows them; a leaf chains; a foreign name is rejected', async (t) => {
  const dir = await tempDir(t);
  const { root, intermediate, issuer } = await pki();
  const rootPem = await put(dir, 'root.pem', root.certificate.toString('pem'));
  const interPem = await put(dir, 'intermediate.pem', intermediate.toString('pem'));

  const rootText = (await openssl(['x509', '-in', rootPem, '-noout', '-text'])).stdout;
  assert.match(rootText, /Public-Key: \(384 bit\)/);
  assert.match(rootText, /Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  assert.match(rootText, /Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
  assert.match(rootText, /X509v3 Subject Key Identifier:/);
  assert.match(rootText, /Name Constraints: critical\s+Permitted:\s+DNS:n3x\.internal\s+DNS:n3x\.example\.com\s+Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
  assert.match(rootText, /Issuer: CN = n3x Internal Root CA/);
  const days = (root.certificate.notAfter.getTime() - root.certificate.notBefore.getTime()) / 86_400_000;
  assert.equal(days, 3650);

  const interText = (await openssl(['x509', '-in', interPem, '-noout', '-text'])).stdout;
  assert.match(interText, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(interText, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  assert.match(interText, /Name Constraints: critical\s+Permitted:\s+DNS:n3x\.internal\s+DNS:n3x\.example\.com\s+Excluded:\s+IP:0\.0\.0\.0/);
  assert.match(interText, /Authority Key Identifier:/);
  assert.match(interText, /Subject: CN = n3x Issuing CA 1/);
  assert.match(interText, /Serial Number:\s+([0-9a-f]{2}:){15}[0-9a-f]{2}\n/);
  const ski = root.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  assert.equal(intermediate.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, ski);

  assert.equal((await openssl(['verify', '-CAfile', rootPem, interPem])).code, 0);

  const good = await put(dir, 'good.pem', (await leafFor(issuer, ['cache.nuc-1.n3x.internal', 'cache.n3x.example.com'])).toString('pem'));
  const ok = await openssl(['verify', '-CAfile', rootPem, '-untrusted', interPem, good]);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /: OK/);

  const bad = await put(dir, 'bad.pem', (await leafFor(issuer, ['cache.evil.example.org'])).toString('pem'));
  const no = await openssl(['verify', '-CAfile', rootPem, '-untrusted', interPem, bad]);
  assert.notEqual(no.code, 0);
  assert.match(no.stdout + no.stderr, /permitted subtree violation/);
  // The same name check in our own code.
  assert.deepEqual(permittedDnsOf(intermediate), ['n3x.internal', 'n3x.example.com']);
});

test('--allow-ip: the root has no excluded IP subtrees', async () => {
  const root = await createRoot({ commonName: 'Root', permittedDns: ['n3x.internal'], allowIp: true });
  const text = (await openssl(['x509', '-noout', '-text'], root.certificate.toString('pem'))).stdout;
  assert.match(text, /Permitted:\s+DNS:n3x\.internal/);
  assert.doesNotMatch(text, /Excluded/);
});

test('narrower intermediate constraints are allowed; wider are refused', async (t) => {
  const dir = await tempDir(t);
  const { root, rootMaterial, req } = await pki();
  const narrow = await signIntermediate(rootMaterial, req.csr, { permittedDns: ['site-a.n3x.internal'], validityDays: 30 });
  assert.deepEqual(permittedDnsOf(narrow), ['site-a.n3x.internal']);
  const rootPem = await put(dir, 'root.pem', root.certificate.toString('pem'));
  const interPem = await put(dir, 'inter.pem', narrow.toString('pem'));
  const leafOutside = await put(dir, 'leaf.pem', (await leafFor({ certificate: narrow, privateKey: req.keys.privateKey }, ['cache.site-b.n3x.internal'])).toString('pem'));
  const r = await openssl(['verify', '-CAfile', rootPem, '-untrusted', interPem, leafOutside]);
  assert.match(r.stdout + r.stderr, /permitted subtree violation/);

  await assert.rejects(signIntermediate(rootMaterial, req.csr, { permittedDns: ['n3x.internal', 'evil.org'] }), isCode('CA_NAME_NOT_PERMITTED'));
  await assert.rejects(signIntermediate(rootMaterial, req.csr, { permittedDns: ['internal'] }), isCode('CA_NAME_NOT_PERMITTED'));
});

test('signIntermediate refuses a CSR with a broken signature', async () => {
  const { rootMaterial, req } = await pki();
  const der = Buffer.from(req.csr.rawData);
  der[der.length - 3]! ^= 0x01; // inside the ECDSA signature's s INTEGER
  const broken = parseCsr(der);
  await assert.rejects(signIntermediate(rootMaterial, broken), isCode('CA_CSR_SIGNATURE_INVALID'));
});

test('signIntermediate accepts a plain openssl CSR and refuses one that requests CA:true or key usages', async (t) => {
  const dir = await tempDir(t);
  const { rootMaterial } = await pki();
  const key = join(dir, 'k.pem');
  const mk = async (out: string, extra: string[]) => {
    const r = await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=n3x Issuing CA 2', '-out', join(dir, out), ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return parseCsr(await readFile(join(dir, out), 'utf8'));
  };
  const plain = await mk('plain.csr', []);
  const cert = await signIntermediate(rootMaterial, plain);
  assert.equal(cert.subject, 'CN=n3x Issuing CA 2');

  const ca = await mk('ca.csr', ['-addext', 'basicConstraints=critical,CA:TRUE,pathlen:5']);
  await assert.rejects(signIntermediate(rootMaterial, ca), (e: unknown) => isCode('CA_CSR_REQUESTS_CA')(e) && /CA:TRUE, pathlen:5/.test((e as Error).message));
  const ku = await mk('ku.csr', ['-addext', 'keyUsage=critical,keyCertSign']);
  await assert.rejects(signIntermediate(rootMaterial, ku), isCode('CA_CSR_REQUESTS_CA'));
  // Other requested extensions (a SAN) are ignored, not copied.
  const san = await mk('san.csr', ['-addext', 'subjectAltName=DNS:evil.org']);
  const c2 = await signIntermediate(rootMaterial, san);
  assert.equal(c2.getExtension(x509.SubjectAlternativeNameExtension), null);
});

test('signIntermediate refuses a validity beyond the root, and a weak RSA key', async (t) => {
  const dir = await tempDir(t);
  const root = await createRoot({ commonName: 'Short Root', permittedDns: ['n3x.internal'], validityDays: 100 });
  const rootMaterial = { certificate: root.certificate, privateKey: root.keys.privateKey };
  const req = await createIntermediateRequest({ commonName: 'Issuing' });
  await assert.rejects(signIntermediate(rootMaterial, req.csr, { validityDays: 365 }), isCode('CA_VALIDITY_INVALID'));
  await assert.rejects(signIntermediate(rootMaterial, req.csr, { validityDays: 0 }), isCode('CA_VALIDITY_INVALID'));
  const r = await openssl(['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'k'), '-subj', '/CN=weak', '-out', join(dir, 'weak.csr')]);
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(signIntermediate(rootMaterial, parseCsr(await readFile(join(dir, 'weak.csr'), 'utf8'))), isCode('CA_KEY_WEAK'));
});

test('createRoot input errors', async () => {
  await assert.rejects(createRoot({ commonName: 'R', permittedDns: [] }), isCode('CA_NAME_INVALID'));
  await assert.rejects(createRoot({ commonName: '  ', permittedDns: ['a.b'] }), isCode('CA_NAME_INVALID'));
  await assert.rejects(createRoot({ commonName: 'R', permittedDns: ['*.a.b'] }), isCode('CA_NAME_INVALID'));
  await assert.rejects(createRoot({ commonName: 'R', permittedDns: ['a.b'], validityDays: -1 }), isCode('CA_VALIDITY_INVALID'));
});
