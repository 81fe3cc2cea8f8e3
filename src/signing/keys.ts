// Nix binary-cache keys and detached signatures: `<name>:<base64>` (NixOS/nix
// src/libutil/signature/local-keys.cc). Secret = 64 bytes (libsodium crypto_sign_SECRETKEYBYTES:
// 32-byte seed ‖ 32-byte public key, the same layout as tweetnacl's secretKey), public = 32 bytes,
// signature = 64-byte ed25519 detached signature. Files carry no trailing newline.
import nacl from 'tweetnacl';
import { decodeBase64Strict, encodeBase64 } from './base64.js';
import { SigningError } from './errors.js';

export const SECRET_KEY_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface SecretKey {
  readonly name: string;
  /** 64 bytes: seed ‖ public key. */
  readonly bytes: Uint8Array;
}

export interface PublicKey {
  readonly name: string;
  /** 32 bytes. */
  readonly bytes: Uint8Array;
}

export interface KeyPair {
  name: string;
  /** `name:base64(64 bytes)`, what goes into the secret file (no newline). */
  secretKey: string;
  /** `name:base64(32 bytes)`, what goes into nix.settings.trusted-public-keys. */
  publicKey: string;
}

/**
 * Key names we create or accept for the inventory. Nix itself takes anything before the first ':'
 * but the name ends up in whitespace-separated `trusted-public-keys`, in Nix strings and in file
 * names (`nix-signing-<name>`), so we allow only host-name characters: letters, digits, '.', '-', '_'.
 */
const KEY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})$/;

export function isValidKeyName(name: string): boolean {
  return KEY_NAME.test(name) && !name.includes('..');
}

export function checkKeyName(name: string): string {
  if (name.length === 0) throw new SigningError('SIGNING_KEY_NO_NAME', 'key name is empty');
  if (!isValidKeyName(name)) {
    throw new SigningError('SIGNING_KEY_NAME_INVALID', `key name ${JSON.stringify(name)} may only contain letters, digits, '.', '-' and '_' (e.g. cache.nuc-1.n3x.internal-1)`);
  }
  return name;
}

/** Splits `name:base64` at the first ':' like Nix's parseColonBase64, with precise errors. */
function parseColonBase64(text: string, what: string, expectedBytes: number): { name: string; bytes: Uint8Array } {
  // Readers trim (harmonia: key_content.trim()); a key file written by `echo` ends in a newline.
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon < 0) throw new SigningError('SIGNING_KEY_NO_NAME', `${what} is not "<name>:<base64>": no ':' (no key name)`);
  if (colon === 0) throw new SigningError('SIGNING_KEY_NO_NAME', `${what} has an empty key name before ':'`);
  const name = s.slice(0, colon);
  if (!isValidKeyName(name)) {
    throw new SigningError('SIGNING_KEY_NAME_INVALID', `${what} name ${JSON.stringify(name.length > 80 ? name.slice(0, 80) + '…' : name)} may only contain letters, digits, '.', '-' and '_'`);
  }
  const b64 = s.slice(colon + 1);
  const bytes = decodeBase64Strict(b64);
  if (!bytes) throw new SigningError('SIGNING_KEY_BASE64_INVALID', `${what} ${name}: the part after ':' is not valid padded base64`);
  if (bytes.length !== expectedBytes) {
    throw new SigningError('SIGNING_KEY_LENGTH', `${what} ${name}: decodes to ${bytes.length} bytes, a Nix ${what} has ${expectedBytes}`);
  }
  return { name, bytes };
}

export function parseSecretKey(text: string): SecretKey {
  const { name, bytes } = parseColonBase64(text, 'secret key', SECRET_KEY_BYTES);
  // The second half must be the public key of the seed: libsodium's sk_to_pk just copies it, so
  // a file with a damaged half would sign with one key and advertise another.
  const derived = nacl.sign.keyPair.fromSeed(bytes.subarray(0, 32)).publicKey;
  if (!bytesEqual(derived, bytes.subarray(32))) {
    throw new SigningError('SIGNING_KEY_CORRUPT', `secret key ${name}: its last 32 bytes are not the public key of its seed (file damaged?)`);
  }
  return { name, bytes };
}

export function parsePublicKey(text: string): PublicKey {
  return parseColonBase64(text, 'public key', PUBLIC_KEY_BYTES);
}

/** A whitespace-separated list, as in nix.conf `trusted-public-keys`. */
export function parsePublicKeyList(text: string): PublicKey[] {
  return text.split(/\s+/).filter(Boolean).map(parsePublicKey);
}

export function formatSecretKey(key: SecretKey): string {
  return `${key.name}:${encodeBase64(key.bytes)}`;
}

export function formatPublicKey(key: PublicKey): string {
  return `${key.name}:${encodeBase64(key.bytes)}`;
}

/** `nix key convert-secret-to-public`: the secret's last 32 bytes under the same name. */
export function toPublicKey(secret: SecretKey): PublicKey {
  return { name: secret.name, bytes: secret.bytes.slice(32) };
}

/** A fresh keypair; `seed` (32 bytes) only for tests and known-answer checks. */
export function generateKeyPair(name: string, seed?: Uint8Array): KeyPair {
  checkKeyName(name);
  const kp = seed ? nacl.sign.keyPair.fromSeed(seed) : nacl.sign.keyPair();
  const secret: SecretKey = { name, bytes: kp.secretKey };
  return { name, secretKey: formatSecretKey(secret), publicKey: formatPublicKey(toPublicKey(secret)) };
}

/** `name:base64(sig)`: an ed25519 detached signature over the UTF-8 bytes of `data`. */
export function signDetached(secret: SecretKey, data: string): string {
  const sig = nacl.sign.detached(new TextEncoder().encode(data), secret.bytes);
  return `${secret.name}:${encodeBase64(sig)}`;
}

export interface ParsedSignature {
  name: string;
  bytes: Uint8Array;
}

/** Parses `name:base64(64 bytes)`; returns undefined for anything else (Nix skips such sigs). */
export function parseSignature(text: string): ParsedSignature | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const bytes = decodeBase64Strict(text.slice(colon + 1));
  if (!bytes || bytes.length !== SIGNATURE_BYTES) return undefined;
  return { name: text.slice(0, colon), bytes };
}

export function verifySignatureBytes(data: string, sig: Uint8Array, key: PublicKey): boolean {
  return nacl.sign.detached.verify(new TextEncoder().encode(data), sig, key.bytes);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
