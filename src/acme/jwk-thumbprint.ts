// RFC 7638 JWK thumbprints (SHA-256), computed synchronously with node:crypto. jose's
// calculateJwkThumbprint is the reference: the same required members, the same checks and errors,
// the same digest input (JSON of the required members in lexicographic order, §3.2); it goes
// through WebCrypto's asynchronous digest, which cost ~0.1-0.3 ms per call on the hot path
// (newAccount, EAB, finalize). test/acme/jwk-thumbprint-differential.test.ts compares the two.
import { createHash } from 'node:crypto';
import { errors, type JWK } from 'jose';

const check = (value: unknown, description: string): string => {
  if (typeof value !== 'string' || !value) throw new errors.JWKInvalid(`${description} missing or invalid`);
  return value;
};

/** The RFC 7638 SHA-256 thumbprint of a public JWK, base64url. */
export function jwkThumbprint(jwk: JWK): string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || typeof jwk.kty !== 'string') {
    throw new TypeError('Key must be a JSON Web Key');
  }
  let members: Record<string, string>;
  switch (jwk.kty) {
    case 'EC':
      members = { crv: check(jwk.crv, '"crv" (Curve) Parameter'), kty: jwk.kty, x: check(jwk.x, '"x" (X Coordinate) Parameter'), y: check(jwk.y, '"y" (Y Coordinate) Parameter') };
      break;
    case 'OKP':
      members = { crv: check(jwk.crv, '"crv" (Subtype of Key Pair) Parameter'), kty: jwk.kty, x: check(jwk.x, '"x" (Public Key) Parameter') };
      break;
    case 'RSA':
      members = { e: check(jwk.e, '"e" (Exponent) Parameter'), kty: jwk.kty, n: check(jwk.n, '"n" (Modulus) Parameter') };
      break;
    case 'oct':
      if (typeof jwk.k !== 'string') throw new errors.JWKInvalid('"k" (Key Value) Parameter missing or invalid');
      members = { k: jwk.k, kty: jwk.kty };
      break;
    case 'AKP': {
      const j = jwk as Record<string, unknown>;
      members = { alg: check(j.alg, '"alg" (Algorithm) Parameter'), kty: jwk.kty, pub: check(j.pub, '"pub" (Public key) Parameter') };
      break;
    }
    default:
      throw new errors.JOSENotSupported('"kty" (Key Type) Parameter missing or unsupported');
  }
  const input = JSON.stringify(members);
  // jose digests ASCII only (base64url members are ASCII; anything else is not a usable key).
  if (/[\u0080-\uffff]/.test(input)) throw new TypeError('non-ASCII string encountered in encode()');
  return createHash('sha256').update(input, 'latin1').digest('base64url');
}
