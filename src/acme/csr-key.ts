// The public key of a certificate request (RFC 2986 §4.1 subjectPKInfo) as a node:crypto KeyObject,
// through OpenSSL's SPKI DER decoder, with the one input it must not see refused first.
import { createPublicKey, type KeyObject } from 'node:crypto';

/** Content [start, end) of the DER TLV with `tag` at `p` (definite lengths), or undefined. */
function content(b: Buffer, p: number, tag: number): [number, number] | undefined {
  if (p + 2 > b.length || b[p] !== tag) return undefined;
  let len = b[p + 1]!;
  let start = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || start + n > b.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  return start + len <= b.length ? [start, start + len] : undefined;
}

const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex'); // id-ecPublicKey (RFC 5480 §2.1.1)

/**
 * An id-ecPublicKey SPKI whose point is the point at infinity (the single octet 0x00, SEC 1
 * §2.3.4). It is never a valid public key (SEC 1 §3.2.2.1), and OpenSSL 3 imports it into a key on
 * which Node's asymmetricKeyDetails and JWK export abort the whole process (a native assertion, not
 * an exception), so it is refused before the import.
 */
export function isEcPointAtInfinity(spki: Uint8Array): boolean {
  const b = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  const outer = content(b, 0, 0x30);
  const alg = outer && content(b, outer[0], 0x30);
  if (!alg || b.compare(EC_PUBLIC_KEY_OID, 0, EC_PUBLIC_KEY_OID.length, alg[0], Math.min(alg[1], alg[0] + EC_PUBLIC_KEY_OID.length)) !== 0) return false;
  const key = content(b, alg[1], 0x03);
  return !!key && key[1] - key[0] >= 2 && b[key[0] + 1] === 0x00;
}

/** OpenSSL's SPKI DER import. Throws on anything it refuses. */
export function importSpkiDer(spki: Uint8Array): KeyObject {
  if (isEcPointAtInfinity(spki)) throw new TypeError('the EC public key is the point at infinity (SEC 1 §3.2.2.1)');
  return createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
}
