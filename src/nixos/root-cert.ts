// The fleet's root certificate(s) as written to root-ca.pem. Only certificates pass: the file is
// copied into the world-readable Nix store (security.pki.certificateFiles reads it at build time,
// nix-notes §2.2), so a private key that was passed by mistake must be refused, not copied.
// Several roots are allowed: during a root rotation every machine trusts the old and the new one.
import { x509 } from '../ca/x509.js';
import { NixosError } from './errors.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Parses PEM text, checks every block is a CA certificate, and returns it re-encoded canonically. */
export function canonicalRootPem(text: string, what = 'root certificate file'): { pem: string; subjects: string[] } {
  if (/PRIVATE KEY-----/.test(text)) {
    throw new NixosError('NIXOS_ROOT_INVALID', `${what} contains a private key; only the public root certificate may be emitted (it ends up in the world-readable Nix store)`);
  }
  const certs: x509.X509Certificate[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] !== 'CERTIFICATE') throw new NixosError('NIXOS_ROOT_INVALID', `${what} contains a ${m[1]} block; only CERTIFICATE blocks are allowed`);
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(m[0]);
    } catch {
      throw new NixosError('NIXOS_ROOT_INVALID', `${what} has a CERTIFICATE block that does not parse`);
    }
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) throw new NixosError('NIXOS_ROOT_INVALID', `${what}: ${cert.subject} is not a CA certificate`);
    certs.push(cert);
  }
  if (certs.length === 0) throw new NixosError('NIXOS_ROOT_INVALID', `${what} has no PEM certificate`);
  return { pem: certs.map((c) => c.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n').join(''), subjects: certs.map((c) => c.subject) };
}
