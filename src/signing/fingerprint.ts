// What a Nix binary-cache signature signs: ValidPathInfo::fingerprint (NixOS/nix
// src/libstore/path-info.cc):
//   "1;" + storePath + ";" + narHash(nix32, "sha256:") + ";" + narSize + ";" + join(",", references)
// with references as FULL store paths in StorePathSet order (sorted by base name), a self-reference
// included, and no trailing text when there are none. Harmonia's implementation is identical.
import { SigningError } from './errors.js';
import { formatSha256Nix32, NIX32_ALPHABET, parseSha256 } from './nix32.js';

export const DEFAULT_STORE_DIR = '/nix/store';

// Store-path base name: 32 nix32 characters of hash, '-', then a name of Nix's allowed characters
// (src/libstore/path.cc checkName: letters, digits, +-._?=, not starting with '.').
const BASE_NAME = new RegExp(`^[${NIX32_ALPHABET}]{32}-[A-Za-z0-9+\\-_?=][A-Za-z0-9+\\-._?=]{0,210}$`);

export function isStorePathBaseName(s: string): boolean {
  return BASE_NAME.test(s);
}

export function checkBaseName(s: string): string {
  if (!isStorePathBaseName(s)) throw new SigningError('SIGNING_STORE_PATH_INVALID', `${JSON.stringify(s)} is not a store path base name (<32 nix32 chars>-<name>)`);
  return s;
}

/** `/nix/store/<hash>-<name>` → `<hash>-<name>`, refusing anything outside `storeDir`. */
export function baseNameOf(storePath: string, storeDir = DEFAULT_STORE_DIR): string {
  const prefix = storeDir.replace(/\/+$/, '') + '/';
  if (!storePath.startsWith(prefix)) throw new SigningError('SIGNING_STORE_PATH_INVALID', `${JSON.stringify(storePath)} is not a path in the store ${storeDir}`);
  return checkBaseName(storePath.slice(prefix.length));
}

export interface PathInfoForFingerprint {
  /** Full store path. */
  storePath: string;
  /** sha256 in any form Nix prints: `sha256:<nix32>`, `sha256:<hex>`, SRI `sha256-<base64>`. */
  narHash: string;
  narSize: number;
  /** Full store paths or base names (narinfo `References:` carries base names). */
  references: readonly string[];
  storeDir?: string;
}

export function fingerprintPath(info: PathInfoForFingerprint): string {
  const storeDir = (info.storeDir ?? DEFAULT_STORE_DIR).replace(/\/+$/, '');
  baseNameOf(info.storePath, storeDir);
  // Nix: "cannot calculate fingerprint of path '…' because its size is not known".
  if (!Number.isSafeInteger(info.narSize) || info.narSize <= 0) {
    throw new SigningError('SIGNING_NARINFO_INVALID', `cannot fingerprint ${info.storePath}: NarSize must be a positive integer, got ${info.narSize}`);
  }
  const narHash = formatSha256Nix32(parseSha256(info.narHash));
  const refs = [...new Set(info.references.map((r) => (r.startsWith('/') ? baseNameOf(r, storeDir) : checkBaseName(r))))]
    // std::set<StorePath> orders by the base-name string (byte order, not locale).
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((b) => `${storeDir}/${b}`);
  return `1;${info.storePath};${narHash};${info.narSize};${refs.join(',')}`;
}
