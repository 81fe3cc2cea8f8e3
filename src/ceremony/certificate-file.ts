// Certificates and CSRs read from files given on the command line or kept in a ceremony
// directory: PEM or DER, one clear error naming the file.
import type { X509Certificate, Pkcs10CertificateRequest } from '@peculiar/x509';
import { parseCsr } from '../ca/intermediate.js';
import { x509 } from '../ca/x509.js';
import { readBytes } from '../store/files.js';
import { CeremonyError } from './errors.js';

export async function readCert(path: string, what: string): Promise<X509Certificate> {
  const bytes = await readBytes(path, what);
  try {
    const text = bytes.toString('latin1');
    return new x509.X509Certificate(text.includes('-----BEGIN') ? text : new Uint8Array(bytes));
  } catch (err) {
    throw new CeremonyError('CEREMONY_INPUT', `${path} is not a certificate (PEM or DER): ${(err as Error).message}`);
  }
}

/** A CSR file, PEM or DER (parseCsr reports what is wrong with it). */
export async function readCsr(path: string): Promise<Pkcs10CertificateRequest> {
  const bytes = await readBytes(path, 'CSR');
  const text = bytes.toString('latin1');
  return parseCsr(text.includes('-----BEGIN') ? text : bytes);
}
