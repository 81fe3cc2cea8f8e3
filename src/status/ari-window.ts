// The ACME Renewal Information window of a certificate (RFC 9773 §4.2), as one pure function so
// that `nixca status` and the ACME `renewalInfo` endpoint always agree.
//
// Default: the last third of the lifetime (Caddy and certbot renew at about 2/3 by themselves),
// and inside it a window of 1/9 of the lifetime whose start is spread deterministically across
// the fleet by hashing node name and serial: the fleet does not renew at once, and the same
// certificate always gets the same answer (no state, any replica computes it).
//   lifetime L, start = notBefore + 2L/3 + f·L/6 (f ∈ [0,1) from the hash), end = start + L/9,
//   so the window always ends by notBefore + 17L/18: at least L/18 (9 h for 7-day leaves) of
//   margin before expiry for a client that renews at the very end of the window.
// `renew-now` (the node's `renewAfter`) moves the window to that instant for every certificate
// issued before it; certificates issued after it get the default window again.
import { createHash } from 'node:crypto';
import type { NodeRecord } from '../inventory/model.js';

export interface WindowInput {
  /** The node the certificate belongs to (null: unbound certificate, spread by serial only). */
  node: string | null;
  /** Canonical lowercase hex serial. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** When the certificate was issued (NOT notBefore, which is backdated for clock skew). */
  issuedAt: Date;
  /** The node's `renewAfter` (inventory NodeRecord), if `renew-now` was used. */
  renewAfter?: Date | null;
  /** When the certificate was revoked, if it was: the window is then in the past (replace at once). */
  revokedAt?: Date | null;
}

export interface SuggestedWindow {
  start: Date;
  end: Date;
  /** 'default': the spread last third; 'renew-now': moved by the operator; 'revoked': replace now. */
  reason: 'default' | 'renew-now' | 'revoked';
}

/** How long a `renew-now` window stays open: clients polling ARI every few hours still see it open. */
export const RENEW_NOW_WINDOW_MS = 60 * 60 * 1000;

/** A number in [0, 1) fixed by node and serial (first 32 bits of SHA-256). */
export function spreadFraction(node: string | null, serial: string): number {
  const h = createHash('sha256').update(`${node ?? ''}\n${serial.toLowerCase()}`).digest();
  return h.readUInt32BE(0) / 0x1_0000_0000;
}

export function defaultWindow(input: Pick<WindowInput, 'node' | 'serial' | 'notBefore' | 'notAfter'>): { start: Date; end: Date } {
  const nb = input.notBefore.getTime();
  const life = input.notAfter.getTime() - nb;
  if (!(life > 0)) return { start: new Date(nb), end: new Date(Math.max(nb + 1000, input.notAfter.getTime())) };
  const start = nb + (2 * life) / 3 + spreadFraction(input.node, input.serial) * (life / 6);
  const end = start + life / 9;
  // RFC 9773 §4.2: end must be after start. Whole seconds, as Boulder sends them.
  const s = Math.floor(start / 1000) * 1000;
  const e = Math.max(s + 1000, Math.floor(end / 1000) * 1000);
  return { start: new Date(s), end: new Date(e) };
}

export function suggestedWindow(input: WindowInput): SuggestedWindow {
  if (input.revokedAt) {
    // RFC 9773 §4.2: a window entirely in the past tells the client to renew immediately.
    const start = Math.floor(input.revokedAt.getTime() / 1000) * 1000;
    return { start: new Date(start), end: new Date(start + 1000), reason: 'revoked' };
  }
  const def = defaultWindow(input);
  const ra = input.renewAfter;
  if (ra && ra.getTime() > input.issuedAt.getTime()) {
    // Issued before the operator asked for renewal: renew from `renewAfter` on, and quickly.
    const start = Math.min(def.start.getTime(), Math.floor(ra.getTime() / 1000) * 1000);
    const end = Math.max(start + 1000, Math.min(def.end.getTime(), Math.max(start, ra.getTime()) + RENEW_NOW_WINDOW_MS));
    return { start: new Date(start), end: new Date(end), reason: 'renew-now' };
  }
  return { ...def, reason: 'default' };
}

/** Convenience: the window of a certificate record for an inventory node. */
export function windowForNode(
  node: Pick<NodeRecord, 'name' | 'renewAfter'> | null,
  cert: { serial: string; notBefore: string; notAfter: string; issuedAt: string },
  revokedAt?: string | null,
): SuggestedWindow {
  return suggestedWindow({
    revokedAt: revokedAt ? new Date(revokedAt) : null,
    node: node?.name ?? null,
    serial: cert.serial,
    notBefore: new Date(cert.notBefore),
    notAfter: new Date(cert.notAfter),
    issuedAt: new Date(cert.issuedAt),
    renewAfter: node?.renewAfter ? new Date(node.renewAfter) : null,
  });
}

/**
 * RFC 9773 §4.3: Retry-After for a renewalInfo response. Clients poll again after it; we ask for
 * 6 hours normally, less when the window opens sooner, and at least a minute.
 */
export function retryAfterSeconds(window: { start: Date }, now: Date): number {
  const untilStart = Math.floor((window.start.getTime() - now.getTime()) / 1000);
  return Math.max(60, Math.min(6 * 3600, untilStart > 0 ? untilStart : 6 * 3600));
}

/** The body of a renewalInfo response (RFC 9773 §4.2): timestamps as RFC 3339, whole seconds. */
export function renewalInfoBody(window: { start: Date; end: Date }, explanationURL?: string): { suggestedWindow: { start: string; end: string }; explanationURL?: string } {
  const iso = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return { suggestedWindow: { start: iso(window.start), end: iso(window.end) }, ...(explanationURL ? { explanationURL } : {}) };
}

/**
 * RFC 9773 §4.1 certID: base64url(AKI keyIdentifier) "." base64url(DER bytes of the serial's
 * INTEGER contents). The DER contents keep a leading 00 when the first byte has its high bit set
 * (the INTEGER is positive), which canonical hex serials (src/ca/serial.ts) strip.
 */
export function encodeCertId(akiKeyIdHex: string, serialHex: string): string {
  let serial = serialHex.toLowerCase().replace(/^(00)+(?=..)/, '');
  if (serial.length % 2) serial = '0' + serial;
  if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = '00' + serial;
  return `${Buffer.from(akiKeyIdHex, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`;
}

/** Parses a certID; the serial comes back canonical (lowercase hex, no leading 00). Null if malformed. */
export function decodeCertId(certId: string): { akiKeyIdHex: string; serialHex: string } | null {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
  if (!m) return null;
  const aki = Buffer.from(m[1]!, 'base64url');
  const serial = Buffer.from(m[2]!, 'base64url');
  // Reject non-canonical base64url (padding bits set, stray characters) by re-encoding.
  if (aki.toString('base64url') !== m[1] || serial.toString('base64url') !== m[2] || aki.length === 0 || serial.length === 0) return null;
  // A DER INTEGER's contents never start with 00 unless the next byte has its high bit set.
  if (serial.length > 1 && serial[0] === 0 && serial[1]! < 0x80) return null;
  if (serial[0]! >= 0x80) return null; // negative: not a certificate serial
  let hex = serial.toString('hex').replace(/^(00)+(?=..)/, '');
  if (hex === '') hex = '00';
  return { akiKeyIdHex: aki.toString('hex'), serialHex: hex };
}
