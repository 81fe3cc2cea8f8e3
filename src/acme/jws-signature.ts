// The signature step of JWS verification (RFC 7515 §5.2 steps 8-9, RFC 7518 §3) with node:crypto.
// It replaces jose's flattenedVerify on the request path only: jose goes through WebCrypto, whose
// per-call promise and key-usage checks cost more than the verification itself. Verdict-for-verdict
// equality with jose is shown by test/acme/jws-differential.test.ts on generated good and bad inputs.
// The structural checks (members, header, alg allow-list) stay in jws.ts; this module assumes the
// alg is one of JWS_ALGORITHMS and the JWK passed publicJwk().
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

interface AlgParams {
  /** Digest for node:crypto verify; null for EdDSA (RFC 8037 §3.1: Ed25519 hashes internally). */
  hash: string | null;
  /** RFC 7518 §3.4: ECDSA signatures are R || S, fixed width, not DER. */
  p1363: boolean;
}

const ALGS: Readonly<Record<string, AlgParams>> = {
  ES256: { hash: 'sha256', p1363: true },
  ES384: { hash: 'sha384', p1363: true },
  RS256: { hash: 'sha256', p1363: false },
  EdDSA: { hash: null, p1363: false },
};

// Parsed public keys, by key members: a client signs ~10 requests per issuance with one key, and
// parsing a JWK into a KeyObject costs about as much as a verification. Bounded (oldest dropped).
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, KeyObject>();

function cacheId(jwk: JWK): string {
  return `${jwk.kty}|${jwk.crv ?? ''}|${jwk.x ?? ''}|${jwk.y ?? ''}|${jwk.n ?? ''}|${jwk.e ?? ''}`;
}

/** A KeyObject for a public JWK; throws (from node:crypto) when the members do not form a key. */
export function publicKeyObject(jwk: JWK): KeyObject {
  const id = cacheId(jwk);
  const hit = keyCache.get(id);
  if (hit) return hit;
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(id, key);
  return key;
}

/**
 * Strict base64url (RFC 4648 §5, no padding, RFC 7515 §2): the caller has checked the alphabet;
 * a length of 4k+1 encodes no whole byte and is refused, as jose (atob) refuses it.
 */
export function decodeBase64url(text: string): Buffer | undefined {
  if (text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

export type SignatureVerdict =
  | { ok: true; payload: Buffer }
  | { ok: false; reason: 'encoding' | 'signature' };

/**
 * RFC 7515 §5.2: the signing input is ASCII(protected || '.' || payload) as received; the payload
 * is decoded only after the signature verified (jose's order, so a bad signature over a payload
 * that is not base64url is a signature failure, as it is there).
 */
export function verifyJwsSignature(jws: { protected: string; payload: string; signature: string }, alg: string, key: KeyObject): SignatureVerdict {
  const params = ALGS[alg];
  if (!params) return { ok: false, reason: 'signature' };
  const signature = decodeBase64url(jws.signature);
  if (!signature) return { ok: false, reason: 'encoding' };
  const input = Buffer.from(`${jws.protected}.${jws.payload}`, 'latin1');
  let valid: boolean;
  try {
    valid = verify(params.hash, input, params.p1363 ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'signature' };
  const payload = decodeBase64url(jws.payload);
  return payload ? { ok: true, payload } : { ok: false, reason: 'encoding' };
}
