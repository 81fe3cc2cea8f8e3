// Strict standard base64 (RFC 4648 §4, with padding), as Nix writes keys and signatures. Node's
// decoder silently skips bad characters and accepts missing padding; a key file must not.

/** Decodes canonical padded base64, or returns undefined. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:==|=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding catches non-zero padding bits (two texts for the same bytes).
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
