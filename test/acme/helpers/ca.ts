// A throw-away CA for tests: root + intermediate from src/ca, and a LeafSigner over issueLeaf,
// exactly as cli/serve wires it. Keys live in memory only.
import { createIntermediateRequest, signIntermediate } from '../../../src/ca/intermediate.js';
import { issueLeaf } from '../../../src/ca/leaf.js';
import { createRoot } from '../../../src/ca/root.js';
import type { x509 } from '../../../src/ca/x509.js';
import type { LeafSigner } from '../../../src/acme/orders.js';

export interface TestCa {
  root: x509.X509Certificate;
  intermediate: x509.X509Certificate;
  rootPem: string;
  intermediatePem: string;
  signer: LeafSigner;
  /** The intermediate with its key (CRL signing tests). */
  issuer: { certificate: x509.X509Certificate; privateKey: CryptoKey };
  /** Every signLeaf call, for assertions. */
  signed: Array<{ serial: string; dnsNames: readonly string[] }>;
}

let cached: Promise<TestCa> | undefined;

/** One CA per test process (generation costs ~10 ms, but the root's constraints are what matter). */
export function testCa(): Promise<TestCa> {
  cached ??= (async () => {
    const root = await createRoot({ commonName: 'nixca test root', permittedDns: ['test', 'internal'] });
    const { csr, keys } = await createIntermediateRequest({ commonName: 'nixca test intermediate' });
    const intermediate = await signIntermediate({ certificate: root.certificate, privateKey: root.keys.privateKey }, csr, { validityDays: 30 });
    const intermediatePem = intermediate.toString('pem') + '\n';
    const signed: TestCa['signed'] = [];
    const signer: LeafSigner = {
      async signLeaf(req) {
        const cert = await issueLeaf({ certificate: intermediate, privateKey: keys.privateKey }, req);
        const certificatePem = cert.toString('pem') + '\n';
        signed.push({ serial: cert.serialNumber.toLowerCase(), dnsNames: req.dnsNames });
        return { serial: cert.serialNumber.toLowerCase(), certificatePem, chainPem: certificatePem + intermediatePem, notBefore: cert.notBefore, notAfter: cert.notAfter };
      },
    };
    return { root: root.certificate, intermediate, issuer: { certificate: intermediate, privateKey: keys.privateKey }, rootPem: root.certificate.toString('pem') + '\n', intermediatePem, signer, signed };
  })();
  return cached;
}
