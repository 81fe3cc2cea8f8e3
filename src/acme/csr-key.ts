// The public key of a certificate request (RFC 2986 §4.1 subjectPKInfo) as a node:crypto KeyObject.
//
// OpenSSL 3 imports a P-256 or Ed25519 key much more cheaply from its JWK members (RFC 7518
// §6.2.1, RFC 8037 §2) than through its DER decoder (measured 0.055 against 0.13 CPU-ms for P-256,
// 0.006 against 0.08 for Ed25519); the EC import checks the point as the DER one does (on the
// curve, coordinates below p; affine coordinates cannot name the point at infinity). So only the
// exact SPKI of those two keys takes that path: the fixed DER prefix of the algorithm and curve
// (RFC 5480 §2, RFC 8410 §4) followed by an uncompressed point (RFC 5480 §2.2) or the 32-byte
// Ed25519 key. Anything else (P-384, whose JWK import is three times slower; RSA; compressed
// points; other curves or encodings) goes to the DER import, the reference.
// test/acme/csr-key-differential.test.ts shows both give the same key or the same refusal on
// generated good and damaged keys.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const startsWith = (b: Buffer, prefix: Buffer): boolean => b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** The JWK of a P-256 (uncompressed point) or Ed25519 SPKI in exactly its DER form, else undefined. */
export function spkiJwk(spki: Uint8Array): JWK | undefined {
  const b = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  if (b.length === P256_SPKI_PREFIX.length + 64 && startsWith(b, P256_SPKI_PREFIX)) {
    const at = P256_SPKI_PREFIX.length;
    return { kty: 'EC', crv: 'P-256', x: b.toString('base64url', at, at + 32), y: b.toString('base64url', at + 32) };
  }
  if (b.length === ED25519_SPKI_PREFIX.length + 32 && startsWith(b, ED25519_SPKI_PREFIX)) {
    return { kty: 'OKP', crv: 'Ed25519', x: b.toString('base64url', ED25519_SPKI_PREFIX.length) };
  }
  return undefined;
}

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

/** The reference import: OpenSSL's SPKI DER decoder. Throws on anything it refuses. */
export function importSpkiDer(spki: Uint8Array): KeyObject {
  if (isEcPointAtInfinity(spki)) throw new TypeError('the EC public key is the point at infinity (SEC 1 §3.2.2.1)');
  return createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
}

/**
 * The key of an SPKI, and its JWK when it was imported from one (the caller's RFC 7638 thumbprint
 * then needs no export). Throws on anything the DER import refuses.
 */
export function importSpki(spki: Uint8Array): { key: KeyObject; jwk?: JWK } {
  const jwk = spkiJwk(spki);
  if (!jwk) return { key: importSpkiDer(spki) };
  return { key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), jwk };
}
