import { randomBytes } from 'node:crypto';

// RFC 5280 §4.1.2.2: serials are positive INTEGERs of at most 20 octets. CA/B BR §7.1 asks for
// at least 64 bits of CSPRNG output; we use 128 bits. The top bit is cleared so the DER encoding
// never needs a leading 00 and stays 16 octets; a zero first octet is avoided so the serial never
// shortens (some tools print serials with fixed widths and ARI certIDs use the DER bytes).
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Canonical form of a serial for lookups: lowercase hex, no separators, no leading zero octets. */
export function normalizeSerial(serial: string): string {
  let hex = serial.replace(/[:\s]/g, '').toLowerCase();
  if (hex.startsWith('0x')) hex = hex.slice(2);
  if (!/^[0-9a-f]+$/.test(hex)) return '';
  if (hex.length % 2) hex = '0' + hex;
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}
