// Puts real leaves (from a throw-away PKI) into a state directory's ACME store, as an issuance would.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeSerial } from '../../src/ca/serial.js';
import { openAcmeStore } from '../../src/store/acme.js';
import { testLeaf, type TestPki } from '../audit/pki.js';

export interface Issued {
  serial: string;
  certPem: string;
  chainPem: string;
  keyPem: string;
}

export async function issueInto(
  state: string,
  pki: TestPki,
  node: string | null,
  names: string[],
  opts: { notBefore?: Date; notAfter?: Date; issuedAt?: Date; record?: boolean } = {},
): Promise<Issued> {
  const { cert, keyPem } = await testLeaf(pki, names, opts);
  const certPem = cert.toString('pem');
  const chainPem = certPem + '\n' + pki.intermediate.certificate.toString('pem') + '\n';
  if (opts.record !== false) {
    const store = await openAcmeStore(state);
    try {
      await store.putCertificate(
        {
          serial: normalizeSerial(cert.serialNumber),
          accountId: 'acct-test',
          node,
          names,
          notBefore: cert.notBefore.toISOString(),
          notAfter: cert.notAfter.toISOString(),
          orderId: 'order-' + cert.serialNumber.slice(0, 8),
          issuedAt: (opts.issuedAt ?? new Date()).toISOString(),
          spkiSha256: createHash('sha256').update(Buffer.from(cert.publicKey.rawData)).digest('hex'),
        },
        chainPem,
      );
    } finally {
      await store.close();
    }
  }
  return { serial: normalizeSerial(cert.serialNumber), certPem, chainPem, keyPem };
}

/** Installs the PKI's root and intermediate where `nixca issuer install` puts them. */
export async function installIssuerFiles(state: string, pki: TestPki): Promise<void> {
  await mkdir(join(state, 'issuer'), { recursive: true, mode: 0o700 });
  await writeFile(join(state, 'issuer', 'root.pem'), pki.root.toString('pem'));
  await writeFile(join(state, 'issuer', 'intermediate.pem'), pki.intermediate.certificate.toString('pem'));
}
