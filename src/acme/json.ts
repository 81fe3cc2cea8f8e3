// Untrusted JSON: every JSON text a client sends (request body, JWS protected header, payload,
// inner JWS, EAB) is parsed here, with a bound on nesting, so nothing downstream can recurse
// without limit (JSON.stringify in a message, a JWK thumbprint, a deep copy). RFC 8555 objects are
// at most four levels deep (a JWS inside a payload carrying a JWK); 32 leaves room for extensions.
import { problem } from './problems.js';

export const MAX_JSON_DEPTH = 32;

/**
 * The deepest nesting of arrays/objects in a JSON text, counted without parsing (strings skipped),
 * stopping as soon as `limit` is exceeded. Linear in the text, constant stack.
 */
export function jsonDepthExceeds(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/** JSON.parse for client input: syntax errors and excessive nesting are `malformed` naming `what`. */
export function parseUntrustedJson(text: string, what: string): unknown {
  if (jsonDepthExceeds(text)) throw problem('malformed', `${what} nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch {
    throw problem('malformed', `${what} is not JSON`);
  }
}

/**
 * A client-supplied value for an error message: strings quoted and cut at 64 characters, other
 * values named by their JSON type only (never serialized: they may be huge).
 */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? v.slice(0, 64) + '…' : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Bytes of a base64url member (RFC 8555 §6.1: unpadded); anything else, including a length no
 * encoding produces (4n+1), is `malformed` naming the member.
 */
export function base64urlMember(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !B64URL.test(v) || v.length % 4 === 1) throw problem('malformed', `${what} must be unpadded base64url`);
  return new Uint8Array(Buffer.from(v, 'base64url'));
}
