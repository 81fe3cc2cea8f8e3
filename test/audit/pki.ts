// A throw-away PKI for tests: root → intermediate (src/ca, as the ceremony makes them) and leaves.
import { createIntermediateRequest, signIntermediate } from '../../src/ca/intermediate.js';
import { issueLeaf, type IssuerMaterial } from '../../src/ca/leaf.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../src/ca/keys.js';
import { createRoot } from '../../src/ca/root.js';
import type { x509 } from '../../src/ca/x509.js';

export interface TestPki {
  root: x509.X509Certificate;
  rootKeys: CryptoKeyPair;
  intermediate: IssuerMaterial;
}

export async function testPki(permittedDns: string[] = ['n3x.test'], now = new Date()): Promise<TestPki> {
  const root = await createRoot({ commonName: 'Test Root', permittedDns, keyAlgorithm: 'ECDSA-P256', now: new Date(now.getTime() - 86_400_000) });
  const req = await createIntermediateRequest({ commonName: 'Test Issuer' });
  const inter = await signIntermediate({ certificate: root.certificate, privateKey: root.keys.privateKey }, req.csr, { now: new Date(now.getTime() - 3_600_000), validityDays: 30 });
  return { root: root.certificate, rootKeys: root.keys, intermediate: { certificate: inter, privateKey: req.keys.privateKey } };
}

export async function testLeaf(pki: TestPki, names: string[], opts: { notBefore?: Date; notAfter?: Date } = {}) {
  const keys = await generateKeyPair('ECDSA-P256');
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = opts.notAfter ?? new Date(Date.now() + 7 * 86_400_000);
  const cert = await issueLeaf(pki.intermediate, { publicKey: keys.publicKey, dnsNames: names, notBefore, notAfter });
  return { cert, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}
