// JWS request authentication (RFC 8555 §6.2, §6.4, §6.5): structure here, signatures with node:crypto
// (jws-signature.ts), JWK thumbprints (RFC 7638) through jose. The HTTP layer passes the
// parsed body and the exact request URL; this module decides everything else.
import { base64url, type FlattenedJWS, type JWK } from 'jose';
import { jwkThumbprint } from './jwk-thumbprint.js';
import { isObject } from './context.js';
import { publicKeyObject, verifyJwsSignature } from './jws-signature.js';
import { parseUntrustedJson, show } from './json.js';
import { problem } from './problems.js';

/** §6.2: ES256 MUST, EdDSA SHOULD; RS256 for older clients. Never "none" or a MAC (§6.2). */
export const JWS_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256'] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

export interface ProtectedHeader {
  alg: JwsAlgorithm;
  nonce?: string;
  url: string;
  jwk?: JWK;
  kid?: string;
  [k: string]: unknown;
}

export interface VerifiedJws {
  header: ProtectedHeader;
  /** The decoded payload text: '' for POST-as-GET (§6.3). */
  payloadText: string;
  /** The payload parsed as JSON, or undefined for POST-as-GET. */
  payload: unknown;
  /** The public key that verified the signature (the embedded jwk, or the account's). */
  jwk: JWK;
  thumbprint: string;
  /** The flattened JWS as received (for keyChange/EAB inner objects). */
  raw: FlattenedJWS;
}

const B64URL = /^[A-Za-z0-9_-]*$/;
// Strict UTF-8 (invalid bytes throw); one instance, since a non-streaming decode keeps no state.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function b64Field(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (typeof v !== 'string') throw problem('malformed', `JWS field "${name}" must be a string`);
  // §6.1: base64url without padding; padded or otherwise foreign characters are rejected.
  if (!B64URL.test(v)) throw problem('malformed', `JWS field "${name}" is not unpadded base64url`);
  return v;
}

/** UTF-8 JSON from unpadded base64url (the caller checked the alphabet), depth-bounded. */
export function decodeJson(b64: string, what: string): unknown {
  let text: string;
  try {
    text = UTF8.decode(base64url.decode(b64));
  } catch {
    throw problem('malformed', `${what} is not base64url-encoded UTF-8`);
  }
  return parseUntrustedJson(text, what);
}

/**
 * Structural checks of a flattened JWS (§6.2): one signature, no unprotected header, an allowed
 * alg, and a decodable protected header. Returns the header, not yet trusted.
 */
export function parseFlattenedJws(body: unknown, opts: { macAllowed?: boolean } = {}): { jws: FlattenedJWS; header: Record<string, unknown> } {
  if (!isObject(body)) throw problem('malformed', 'request body must be a flattened JWS JSON object');
  if ('signatures' in body) throw problem('malformed', 'the JWS must use the flattened JSON serialization with exactly one signature');
  if ('header' in body) throw problem('malformed', 'the JWS must not have an unprotected header (RFC 8555 §6.2)');
  const extra = Object.keys(body).filter((k) => k !== 'protected' && k !== 'payload' && k !== 'signature');
  if (extra.length) throw problem('malformed', `unexpected JWS member(s): ${extra.join(', ')}`);
  const prot = b64Field(body, 'protected');
  const payload = b64Field(body, 'payload');
  const signature = b64Field(body, 'signature');
  if (!prot) throw problem('malformed', 'the JWS protected header is empty');
  const header = decodeJson(prot, 'the JWS protected header');
  if (!isObject(header)) throw problem('malformed', 'the JWS protected header must be a JSON object');
  if ('b64' in header || 'crit' in header) throw problem('malformed', 'unencoded payloads and critical header parameters are not allowed (RFC 8555 §6.2)');
  const alg = header.alg;
  if (typeof alg !== 'string') throw problem('malformed', 'the JWS protected header has no "alg"');
  if (!opts.macAllowed && !(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
    throw problem('badSignatureAlgorithm', `JWS algorithm ${show(alg)} is not supported; use one of ${JWS_ALGORITHMS.join(', ')}`, {
      algorithms: [...JWS_ALGORITHMS],
    });
  }
  return { jws: { protected: prot, payload, signature }, header };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The public members that define the key (RFC 7638 §3.2), for storage and comparison. */
export function publicJwk(jwk: unknown): JWK {
  if (!isObject(jwk)) throw problem('malformed', '"jwk" must be a JSON object');
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw problem('badPublicKey', 'the JWK contains private or symmetric key material');
  const s = (name: string): string => {
    const v = jwk[name];
    if (typeof v !== 'string' || !v || !B64URL.test(v) || v.length % 4 === 1) throw problem('badPublicKey', `JWK member "${name}" is missing or not base64url`);
    return v;
  };
  switch (jwk.kty) {
    case 'EC': {
      if (jwk.crv !== 'P-256' && jwk.crv !== 'P-384') throw problem('badPublicKey', `EC curve ${show(jwk.crv)} is not supported (P-256, P-384)`);
      return { kty: 'EC', crv: jwk.crv, x: s('x'), y: s('y') };
    }
    case 'OKP': {
      if (jwk.crv !== 'Ed25519') throw problem('badPublicKey', `OKP curve ${show(jwk.crv)} is not supported (Ed25519)`);
      return { kty: 'OKP', crv: 'Ed25519', x: s('x') };
    }
    case 'RSA': {
      const n = s('n');
      const modulus = base64url.decode(n);
      const bits = (modulus.length - (modulus[0] === 0 ? 1 : 0)) * 8;
      if (bits < 2048) throw problem('badPublicKey', `RSA keys must be at least 2048 bits (got ${bits})`);
      if (bits > 8192) throw problem('badPublicKey', `RSA keys above 8192 bits are not accepted (got ${bits})`);
      return { kty: 'RSA', n, e: s('e') };
    }
    default:
      throw problem('badPublicKey', `key type ${show(jwk.kty)} is not supported (EC, OKP, RSA)`);
  }
}

/** Which alg goes with which key (RFC 7518 §3.4: ES256 is P-256 only, ES384 P-384). */
function algFits(alg: string, jwk: JWK): boolean {
  switch (alg) {
    case 'ES256': return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384': return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'EdDSA': return jwk.kty === 'OKP';
    case 'RS256': return jwk.kty === 'RSA';
    default: return false;
  }
}

/** RFC 7638 SHA-256 thumbprint (synchronous node:crypto; jose's calculateJwkThumbprint is the reference). */
export async function thumbprintOf(jwk: JWK): Promise<string> {
  return jwkThumbprint(jwk);
}

/**
 * Verifies the signature of a parsed JWS with a public JWK (node:crypto, see jws-signature.ts);
 * a mismatch of key and alg is badPublicKey. Returns the decoded payload.
 */
export function verifySignature(jws: FlattenedJWS, alg: string, jwk: JWK): Uint8Array {
  if (!algFits(alg, jwk)) throw problem('badPublicKey', `JWS algorithm ${alg} does not match the ${jwk.kty}${jwk.crv ? ' ' + jwk.crv : ''} key`);
  let key;
  try {
    key = publicKeyObject(jwk);
  } catch (err) {
    throw problem('badPublicKey', `the JWK cannot be used: ${(err as Error).message}`);
  }
  const verdict = verifyJwsSignature(jws as { protected: string; payload: string; signature: string }, alg, key);
  if (!verdict.ok) throw problem('malformed', 'JWS signature verification failed');
  return verdict.payload;
}

export interface VerifyOptions {
  /** The exact URL the request was sent to: configured base URL origin + request path (§6.4). */
  url: string;
  /** 'jwk' for newAccount, 'kid' for most, 'either' for revokeCert (§6.2). */
  key: 'jwk' | 'kid' | 'either';
  /** Consumes the nonce; returns the store's verdict. */
  redeemNonce(nonce: unknown): 'ok' | 'unknown' | 'malformed' | Promise<'ok' | 'unknown' | 'malformed'>;
  /** Looks up the account key for a kid; throws the right problem for unknown or foreign kids. */
  accountKey(kid: string): Promise<{ jwk: JWK; thumbprint: string }>;
}

/** Parses and authenticates an ACME request body (§6.2, §6.4, §6.5). */
export async function verifyAcmeJws(body: unknown, opts: VerifyOptions): Promise<VerifiedJws> {
  const { jws, header } = parseFlattenedJws(body);
  const hasJwk = 'jwk' in header;
  const hasKid = 'kid' in header;
  if (hasJwk && hasKid) throw problem('malformed', 'the JWS protected header must contain "jwk" or "kid", not both (RFC 8555 §6.2)');
  if (!hasJwk && !hasKid) throw problem('malformed', 'the JWS protected header must contain "jwk" or "kid"');
  if (opts.key === 'jwk' && !hasJwk) throw problem('malformed', 'this request must be signed with a "jwk" header (RFC 8555 §6.2)');
  if (opts.key === 'kid' && !hasKid) throw problem('malformed', 'this request must be signed with a "kid" header naming your account (RFC 8555 §6.2)');
  if (typeof header.url !== 'string') throw problem('malformed', 'the JWS protected header has no "url"');
  // §6.4: the url must equal the request URL exactly; a mismatch is unauthorized.
  if (header.url !== opts.url) throw problem('unauthorized', `the JWS "url" ${show(header.url)} does not match the request URL ${JSON.stringify(opts.url)}`);
  let jwk: JWK;
  let thumbprint: string | undefined;
  if (hasJwk) {
    jwk = publicJwk(header.jwk);
  } else {
    if (typeof header.kid !== 'string') throw problem('malformed', '"kid" must be a string (the account URL)');
    ({ jwk, thumbprint } = await opts.accountKey(header.kid));
  }
  const payloadBytes = verifySignature(jws, header.alg as string, jwk);
  // The nonce is consumed only for authentic requests, so a forger cannot burn other clients' nonces.
  if (!('nonce' in header)) throw problem('badNonce', 'the JWS protected header has no "nonce" (RFC 8555 §6.5)');
  const verdict = await opts.redeemNonce(header.nonce);
  if (verdict === 'malformed') throw problem('malformed', 'the JWS "nonce" is not base64url (RFC 8555 §6.5.2)');
  if (verdict === 'unknown') throw problem('badNonce', 'the nonce is unknown, expired or already used; retry with the fresh Replay-Nonce');
  let payloadText: string;
  try {
    payloadText = UTF8.decode(payloadBytes);
  } catch {
    throw problem('malformed', 'the JWS payload is not UTF-8');
  }
  const payload = payloadText === '' ? undefined : parseUntrustedJson(payloadText, 'the JWS payload');
  return { header: header as ProtectedHeader, payloadText, payload, jwk, thumbprint: thumbprint ?? (await thumbprintOf(jwk)), raw: jws };
}

/** Verifies an inner JWS carried as a payload (keyChange §7.3.5): jwk only, same url, no nonce. */
export async function verifyInnerJws(body: unknown, outerUrl: string): Promise<{ jwk: JWK; payload: unknown }> {
  const { jws, header } = parseFlattenedJws(body);
  if (!('jwk' in header) || 'kid' in header) throw problem('malformed', 'the inner JWS must carry "jwk" and no "kid" (RFC 8555 §7.3.5)');
  if ('nonce' in header) throw problem('malformed', 'the inner JWS must not carry a "nonce" (RFC 8555 §7.3.5)');
  if (header.url !== outerUrl) throw problem('malformed', 'the inner JWS "url" must equal the outer one (RFC 8555 §7.3.5)');
  const jwk = publicJwk(header.jwk);
  const bytes = verifySignature(jws, header.alg as string, jwk);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw problem('malformed', 'the inner JWS payload is not UTF-8');
  }
  return { jwk, payload: parseUntrustedJson(text, 'the inner JWS payload') };
}
