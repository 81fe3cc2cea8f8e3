// narinfo files (NixOS/nix src/libstore/nar-info.cc): lines `Key: value\n`, unknown keys kept,
// `Sig:` repeatable. We keep every line in its order so that serialising a parsed file gives the
// same bytes back, and adding a signature changes nothing else.
import { SigningError } from './errors.js';
import { baseNameOf, checkBaseName, DEFAULT_STORE_DIR, fingerprintPath } from './fingerprint.js';
import { formatPublicKey, parseSignature, signDetached, verifySignatureBytes, type PublicKey, type SecretKey } from './keys.js';

export interface NarInfoField {
  key: string;
  value: string;
}

export interface NarInfo {
  /** Every line, in file order. */
  fields: NarInfoField[];
  storePath: string;
  url: string;
  narHash: string;
  narSize: number;
  /** Base names, as in the file. */
  references: string[];
  sigs: string[];
}

// nar-info.cc requires StorePath, URL and NarHash, and a non-zero NarSize.
const REQUIRED = ['StorePath', 'URL', 'NarHash', 'NarSize'] as const;

function lastValue(fields: readonly NarInfoField[], key: string): string | undefined {
  for (let i = fields.length - 1; i >= 0; i--) if (fields[i]!.key === key) return fields[i]!.value;
  return undefined;
}

export function parseNarInfo(text: string, opts: { storeDir?: string; what?: string } = {}): NarInfo {
  const what = opts.what ?? 'narinfo';
  const storeDir = opts.storeDir ?? DEFAULT_STORE_DIR;
  const fields: NarInfoField[] = [];
  const lines = text.split('\n');
  // A final newline gives one empty trailing element; Nix writes one after every line.
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const colon = line.indexOf(':');
    // Nix takes the value from two characters after the colon (": ").
    if (colon <= 0 || line[colon + 1] !== ' ') {
      throw new SigningError('SIGNING_NARINFO_INVALID', `${what} line ${i + 1} is not "Key: value": ${JSON.stringify(line.length > 80 ? line.slice(0, 80) + '…' : line)}`);
    }
    fields.push({ key: line.slice(0, colon), value: line.slice(colon + 2) });
  });
  const missing = REQUIRED.filter((k) => lastValue(fields, k) === undefined);
  if (missing.length) throw new SigningError('SIGNING_NARINFO_MISSING_FIELD', `${what} has no ${missing.join(', ')} line${missing.length > 1 ? 's' : ''}`);
  const storePath = lastValue(fields, 'StorePath')!;
  baseNameOf(storePath, storeDir);
  const sizeText = lastValue(fields, 'NarSize')!;
  if (!/^[0-9]+$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)) || Number(sizeText) === 0) {
    throw new SigningError('SIGNING_NARINFO_INVALID', `${what}: NarSize must be a positive integer, got ${JSON.stringify(sizeText)}`);
  }
  const refText = lastValue(fields, 'References') ?? '';
  const references = refText.split(' ').filter(Boolean).map(checkBaseName);
  return {
    fields,
    storePath,
    url: lastValue(fields, 'URL')!,
    narHash: lastValue(fields, 'NarHash')!,
    narSize: Number(sizeText),
    references,
    sigs: fields.filter((f) => f.key === 'Sig').map((f) => f.value),
  };
}

export function serializeNarInfo(info: Pick<NarInfo, 'fields'>): string {
  return info.fields.map((f) => `${f.key}: ${f.value}\n`).join('');
}

export function narInfoFingerprint(info: NarInfo, storeDir = DEFAULT_STORE_DIR): string {
  return fingerprintPath({ storePath: info.storePath, narHash: info.narHash, narSize: info.narSize, references: info.references, storeDir });
}

/**
 * Adds `Sig:` lines (after the last existing one, else before `CA:`, else at the end, which is
 * where nar-info.cc writes them). A signature already present is not repeated; ed25519 is
 * deterministic, so signing twice with one key gives the same line.
 */
export function signNarInfo(info: NarInfo, keys: readonly SecretKey[], storeDir = DEFAULT_STORE_DIR): { narinfo: NarInfo; added: string[] } {
  const fp = narInfoFingerprint(info, storeDir);
  const fields = info.fields.map((f) => ({ ...f }));
  const added: string[] = [];
  for (const key of keys) {
    const sig = signDetached(key, fp);
    if (fields.some((f) => f.key === 'Sig' && f.value === sig)) continue;
    let at = -1;
    for (let i = fields.length - 1; i >= 0; i--) if (fields[i]!.key === 'Sig') { at = i + 1; break; }
    if (at < 0) at = fields.findIndex((f) => f.key === 'CA');
    if (at < 0) at = fields.length;
    fields.splice(at, 0, { key: 'Sig', value: sig });
    added.push(sig);
  }
  return { narinfo: { ...info, fields, sigs: fields.filter((f) => f.key === 'Sig').map((f) => f.value) }, added };
}

export type SignatureVerdict = 'valid' | 'untrusted-key-name' | 'bad-signature' | 'malformed';

export interface SignatureCheck {
  /** The whole `Sig:` value. */
  sig: string;
  /** The key name the signature claims, or null when malformed. */
  keyName: string | null;
  verdict: SignatureVerdict;
  /** The trusted public key (name:base64) it was checked against, if its name is trusted. */
  trustedKey: string | null;
}

export interface NarInfoVerification {
  storePath: string;
  fingerprint: string;
  signatures: SignatureCheck[];
  validCount: number;
}

/**
 * Checks every `Sig:` like Nix's verifyDetached: the trusted key is looked up by the signature's
 * key NAME (the same key bytes under another name do not count), then the ed25519 bytes are checked.
 * As in Nix's PublicKeys map (emplace), the first trusted key with a given name wins.
 */
export function verifyNarInfo(info: NarInfo, trusted: readonly PublicKey[], storeDir = DEFAULT_STORE_DIR): NarInfoVerification {
  const byName = new Map<string, PublicKey>();
  for (const k of trusted) if (!byName.has(k.name)) byName.set(k.name, k);
  const fp = narInfoFingerprint(info, storeDir);
  const signatures = info.sigs.map((sig): SignatureCheck => {
    const parsed = parseSignature(sig);
    if (!parsed) return { sig, keyName: null, verdict: 'malformed', trustedKey: null };
    const key = byName.get(parsed.name);
    if (!key) return { sig, keyName: parsed.name, verdict: 'untrusted-key-name', trustedKey: null };
    return { sig, keyName: parsed.name, verdict: verifySignatureBytes(fp, parsed.bytes, key) ? 'valid' : 'bad-signature', trustedKey: formatPublicKey(key) };
  });
  return { storePath: info.storePath, fingerprint: fp, signatures, validCount: signatures.filter((s) => s.verdict === 'valid').length };
}
