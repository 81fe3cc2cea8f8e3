// Differential test: the template leaf encoder (src/ca/leaf-template.ts) against the @peculiar/x509
// builder (issueLeaf) on 1,000 randomized inputs: the TBSCertificate and signatureAlgorithm must be
// byte-identical (ECDSA signatures are randomized, so the signature itself cannot be), the
// signature must verify, and openssl must parse and verify every certificate up to the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { createIntermediateRequest, signIntermediate } from '../../src/ca/intermediate.js';
import { generateKeyPair, type KeyAlgorithm } from '../../src/ca/keys.js';
import { issueLeaf, type IssuerMaterial } from '../../src/ca/leaf.js';
import { createLeafTemplate, type LeafTemplate } from '../../src/ca/leaf-template.js';
import { createRoot } from '../../src/ca/root.js';
import { x509 } from '../../src/ca/x509.js';
import { prng } from '../helpers/prng.js';

const run = promisify(execFile);
const N = 1000;


/** The contents' TLVs of a DER SEQUENCE, as raw slices (lengths up to 3 octets). */
function children(der: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  const at = (o: number): [number, number] => {
    const l = der[o + 1]!;
    if (!(l & 0x80)) return [o + 2, l];
    let len = 0;
    for (let i = 0; i < (l & 0x7f); i++) len = len * 256 + der[o + 2 + i]!;
    return [o + 2 + (l & 0x7f), len];
  };
  const [start, len] = at(0);
  for (let o = start; o < start + len;) {
    const [s, l] = at(o);
    out.push(Buffer.from(der.subarray(o, s + l)));
    o = s + l;
  }
  return out;
}

const LABEL = 'abcdefghijklmnopqrstuvwxyz0123456789';

function name(r: () => number): string {
  const labels: string[] = [];
  const count = 1 + Math.floor(r() * 4);
  for (let i = 0; i < count; i++) {
    const len = r() < 0.05 ? 63 : 1 + Math.floor(r() * 12);
    let l = '';
    for (let j = 0; j < len; j++) l += LABEL[Math.floor(r() * (j === 0 || j === len - 1 ? 26 : LABEL.length))];
    labels.push(l);
  }
  return labels.join('.') + '.test';
}

function serialHex(r: () => number): string | undefined {
  if (r() < 0.1) return undefined;
  const bytes = 1 + Math.floor(r() * 20);
  let hex = '';
  for (let i = 0; i < bytes; i++) hex += Math.floor(r() * 256).toString(16).padStart(2, '0');
  if (r() < 0.1) hex = '00' + hex.slice(2); // leading zero octet
  return /^0*$/.test(hex) ? '01' : hex;
}

test('template leaf encoder: byte-identical TBSCertificate to @peculiar/x509 for 1,000 randomized inputs; openssl verifies each (RFC 5280 §4.1)', async () => {
  const r = prng(0x1eaf);
  // Validity past 2049 so GeneralizedTime (RFC 5280 §4.1.2.5) is exercised too.
  const root = await createRoot({ commonName: 'nixca template test root', permittedDns: ['test'], validityDays: 365 * 40 });
  const issuers: Array<{ material: IssuerMaterial; template: LeafTemplate }> = [];
  for (const keyAlgorithm of ['ECDSA-P256', 'ECDSA-P384'] as KeyAlgorithm[]) {
    const { csr, keys } = await createIntermediateRequest({ commonName: `nixca template ${keyAlgorithm}`, keyAlgorithm });
    const certificate = await signIntermediate({ certificate: root.certificate, privateKey: root.keys.privateKey }, csr, { validityDays: 365 * 39 });
    const material = { certificate, privateKey: keys.privateKey };
    issuers.push({ material, template: await createLeafTemplate(material) });
  }
  const subjects: x509.PublicKey[] = [];
  for (const alg of ['ECDSA-P256', 'ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048', 'RSA-4096'] as KeyAlgorithm[]) {
    subjects.push(await x509.PublicKey.create((await generateKeyPair(alg)).publicKey));
  }
  const dir = await mkdtemp(join(tmpdir(), 'nixca-template-'));
  try {
    const files: string[][] = [[], []];
    for (let i = 0; i < N; i++) {
      const which = Math.floor(r() * issuers.length);
      const { material, template } = issuers[which]!;
      const publicKey = subjects[Math.floor(r() * subjects.length)]!;
      const from = material.certificate.notBefore.getTime();
      const to = material.certificate.notAfter.getTime();
      const notBefore = new Date(from + Math.floor(r() * (to - from - 2000)));
      const notAfter = new Date(notBefore.getTime() + 1000 + Math.floor(r() * (to - notBefore.getTime() - 1000)));
      const dnsNames = Array.from({ length: r() < 0.05 ? 100 : 1 + Math.floor(r() * 5) }, () => name(r));
      const serial = serialHex(r) ?? '7f' + i.toString(16).padStart(30, '0');
      const crl = r() < 0.7 ? ['https://acme.test:8443/crl'] : r() < 0.5 ? ['https://acme' + i + '.test/crl'] : undefined;
      const req = { dnsNames, notBefore, notAfter, serial, ...(crl ? { crlDistributionPoints: crl } : {}) };
      const want = await issueLeaf(material, { ...req, publicKey });
      const got = template.issue({ ...req, spki: new Uint8Array(publicKey.rawData) });
      const [wantTbs, wantAlg] = children(new Uint8Array(want.rawData));
      const [gotTbs, gotAlg] = children(got.der);
      assert.ok(gotTbs!.equals(wantTbs!), `TBSCertificate differs for input ${i}`);
      assert.ok(gotAlg!.equals(wantAlg!), `signatureAlgorithm differs for input ${i}`);
      assert.equal(got.serial, want.serialNumber.toLowerCase(), `serial for input ${i}`);
      assert.equal(got.notAfter.getTime(), want.notAfter.getTime());
      assert.equal(got.akiKeyId, want.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, `AKI of input ${i}`);
      assert.ok(new X509Certificate(got.der).verify(new X509Certificate(Buffer.from(material.certificate.rawData)).publicKey), `signature of input ${i}`);
      assert.equal(got.pem, new x509.X509Certificate(new Uint8Array(got.der)).toString('pem'));
      const file = join(dir, `${i}.pem`);
      await writeFile(file, got.pem + '\n');
      files[which]!.push(file);
    }
    await writeFile(join(dir, 'root.pem'), root.certificate.toString('pem') + '\n');
    for (const [which, list] of files.entries()) {
      await writeFile(join(dir, `inter${which}.pem`), issuers[which]!.material.certificate.toString('pem') + '\n');
      for (let k = 0; k < list.length; k += 200) {
        const chunk = list.slice(k, k + 200);
        const { stdout } = await run('openssl', ['verify', '-no_check_time', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, `inter${which}.pem`), ...chunk]);
        const ok = stdout.split('\n').filter((l) => l.endsWith(': OK')).length;
        assert.equal(ok, chunk.length, `openssl verified ${ok} of ${chunk.length}:\n${stdout.slice(0, 2000)}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
