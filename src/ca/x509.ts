// The one place that prepares @peculiar/x509: its DI container needs the Reflect polyfill, and
// it must use Node's WebCrypto. Every src/ca module imports x509 from here, never directly.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const crypto = webcrypto as unknown as Crypto;

/**
 * RFC 5280 §4.2.1.1: a certificate's authority key identifier is its issuer's subject key
 * identifier; for an issuer without one (not ours), the identifier is derived from its key.
 */
export async function authorityKeyIdentifierFor(issuer: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey);
}
