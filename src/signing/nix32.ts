// Nix's base-32 ("nix32"): its own alphabet (no e, o, u, t) and its own bit order. The string is
// the hash read from its LAST byte to its first, 5 bits at a time, so it is not RFC 4648 base32.
// Port of printHash32/parseHash32 in NixOS/nix src/libutil/hash.cc; cross-checked against
// `nix hash to-base32` in test/signing/nix32.test.ts.
import { decodeBase64Strict } from './base64.js';
import { SigningError } from './errors.js';

export const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

/** Length of the nix32 text for `bytes` bytes (52 for sha256, 32 for the 20-byte store-path hash). */
export function nix32Length(bytes: number): number {
  return Math.floor((bytes * 8 - 1) / 5) + 1;
}

export function encodeNix32(hash: Uint8Array): string {
  const len = nix32Length(hash.length);
  let s = '';
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    const c = (hash[i]! >> j) | (i >= hash.length - 1 ? 0 : hash[i + 1]! << (8 - j));
    s += NIX32_ALPHABET[c & 0x1f];
  }
  return s;
}

/** Decodes nix32 text into `bytes` bytes; refuses wrong length, foreign characters and overflow bits. */
export function decodeNix32(text: string, bytes: number): Uint8Array {
  if (text.length !== nix32Length(bytes)) {
    throw new SigningError('SIGNING_HASH_INVALID', `nix32 text must be ${nix32Length(bytes)} characters for ${bytes} bytes, got ${text.length}`);
  }
  const out = new Uint8Array(bytes);
  for (let n = 0; n < text.length; n++) {
    const ch = text[text.length - n - 1]!;
    const digit = NIX32_ALPHABET.indexOf(ch);
    if (digit < 0) throw new SigningError('SIGNING_HASH_INVALID', `${JSON.stringify(ch)} is not a nix32 character (alphabet ${NIX32_ALPHABET})`);
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    out[i]! |= (digit << j) & 0xff;
    const carry = digit >> (8 - j);
    if (i < bytes - 1) out[i + 1]! |= carry;
    else if (carry) throw new SigningError('SIGNING_HASH_INVALID', 'nix32 text encodes more bits than the hash holds');
  }
  return out;
}

const SHA256_BYTES = 32;

/**
 * Parses a sha256 hash as Nix accepts it for a NarHash: `sha256:<nix32|hex|base64>` or SRI
 * `sha256-<base64>` (what `nix path-info --json` prints). Returns the 32 raw bytes.
 */
export function parseSha256(text: string): Uint8Array {
  const m = /^sha256([:-])(.*)$/.exec(text.trim());
  if (!m) throw new SigningError('SIGNING_HASH_INVALID', `hash ${JSON.stringify(text)} must start with "sha256:" or "sha256-" (SRI)`);
  const [, sep, body] = m as unknown as [string, string, string];
  if (sep === '-' || body.length === 44) {
    const bytes = decodeBase64Strict(body);
    if (!bytes || bytes.length !== SHA256_BYTES) throw new SigningError('SIGNING_HASH_INVALID', `hash ${JSON.stringify(text)}: not 32 bytes of base64`);
    return bytes;
  }
  if (body.length === 64) {
    if (!/^[0-9a-f]{64}$/i.test(body)) throw new SigningError('SIGNING_HASH_INVALID', `hash ${JSON.stringify(text)}: not 64 hex digits`);
    return new Uint8Array(Buffer.from(body, 'hex'));
  }
  if (body.length === nix32Length(SHA256_BYTES)) return decodeNix32(body, SHA256_BYTES);
  throw new SigningError('SIGNING_HASH_INVALID', `hash ${JSON.stringify(text)}: a sha256 is 52 nix32, 64 hex or 44 base64 characters, got ${body.length}`);
}

/** The form Nix fingerprints and writes in narinfo files: `sha256:` + 52 nix32 characters. */
export function formatSha256Nix32(hash: Uint8Array): string {
  if (hash.length !== SHA256_BYTES) throw new SigningError('SIGNING_HASH_INVALID', `a sha256 hash has 32 bytes, got ${hash.length}`);
  return 'sha256:' + encodeNix32(hash);
}
