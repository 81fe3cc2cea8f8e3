// ACME Renewal Information (RFC 9773): the renewalInfo resource (§4) and `replaces` in newOrder
// (§5). The window itself is computed by src/status/ari-window.ts, so `nixca status` and this
// endpoint always give the same answer for the same certificate.
import { decodeCertId, renewalInfoBody, retryAfterSeconds, windowForNode } from '../status/ari-window.js';
import { accountHoldsCertificate } from './accounts.js';
import { currentOrderStatus } from './authorizations.js';
import { emit, type AcmeContext } from './context.js';
import type { AccountRecord, CertificateRecord, Identifier } from './model.js';
import { problem } from './problems.js';

export interface RenewalInfo {
  body: { suggestedWindow: { start: string; end: string }; explanationURL?: string };
  /** §4.3: seconds until the client should ask again. */
  retryAfter: number;
}

/** Parses a certID (§4.1); malformed input is a `malformed` problem (400). */
function parseCertId(certId: string, what: string): { akiKeyIdHex: string; serialHex: string } {
  const id = decodeCertId(certId);
  if (!id) {
    throw problem('malformed', `${what} is not an RFC 9773 certID: base64url(AKI keyIdentifier) "." base64url(DER serial), no padding`);
  }
  return id;
}

/** The certificate a certID names, if this CA issued it (serial and issuer key id both match). */
async function certificateOf(ctx: AcmeContext, id: { akiKeyIdHex: string; serialHex: string }): Promise<CertificateRecord | undefined> {
  const cert = await ctx.store.getCertificate(id.serialHex);
  // Records from before ARI support have no akiKeyId: the serial (128 random bits) decides alone.
  if (!cert || (cert.akiKeyId !== undefined && cert.akiKeyId !== id.akiKeyIdHex)) return undefined;
  return cert;
}

/**
 * GET renewalInfo/<certID> (§4.2): unauthenticated; 404 for a certificate this CA did not issue.
 * `client` says who asked, as far as an unauthenticated GET can (recorded: does this node poll ARI).
 */
export async function renewalInfo(ctx: AcmeContext, certId: string, client: { userAgent?: string } = {}): Promise<RenewalInfo> {
  const id = parseCertId(certId, 'the renewalInfo path');
  const cert = await certificateOf(ctx, id);
  if (!cert) throw problem('malformed', 'no certificate with this certID was issued here', { status: 404 });
  const now = ctx.now();
  const revocation = await ctx.store.getRevocation(cert.serial);
  const node = cert.node === null ? null : ((await ctx.inventory.read()).nodes.find((n) => n.name === cert.node) ?? null);
  // A node since removed from the inventory: its certificate still gets the default window. A
  // revoked certificate gets a window in the past (§4.2: replace at once); windowForNode decides.
  const window = windowForNode(node ?? (cert.node === null ? null : { name: cert.node, renewAfter: null }), cert, revocation?.revokedAt);
  await emit(ctx, 'renewalInfoFetched', { serial: cert.serial, node: cert.node, accountId: cert.accountId, userAgent: client.userAgent?.slice(0, 200) ?? null, at: now });
  return { body: renewalInfoBody(window), retryAfter: retryAfterSeconds(window, now) };
}

/**
 * Claims `serial` while the replacing order is created (call right after checkReplaces, with no
 * await in between); the returned function releases it once the order is in the store.
 */
export function claimReplacement(ctx: AcmeContext, serial: string): () => void {
  ctx.replacing.add(serial);
  return () => ctx.replacing.delete(serial);
}

/**
 * `replaces` in newOrder (§5). The certID must be well formed (else malformed) and name a
 * certificate of this CA (else malformed), ordered by this account or by an account bound to the
 * same node (else unauthorized), sharing at least one identifier with the new order (else
 * malformed), and not already replaced by a certificate or by another order that is not invalid
 * (else 409 alreadyReplaced). Boulder answers the same way. Returns the replaced serial.
 */
export async function checkReplaces(ctx: AcmeContext, account: AccountRecord, replaces: unknown, identifiers: readonly Identifier[]): Promise<string> {
  if (typeof replaces !== 'string') throw problem('malformed', '"replaces" must be a certID string (RFC 9773 §5)');
  const id = parseCertId(replaces, '"replaces"');
  const cert = await certificateOf(ctx, id);
  if (!cert) throw problem('malformed', '"replaces" names no certificate issued by this CA');
  if (!accountHoldsCertificate(account, cert)) {
    throw problem('unauthorized', 'the certificate named by "replaces" belongs to another account');
  }
  const names = new Set(identifiers.map((i) => i.value));
  if (!cert.names.some((n) => names.has(n))) throw problem('malformed', 'the new order shares no identifier with the certificate it replaces (RFC 9773 §5)');
  const found = await ctx.store.findReplacements(cert.serial);
  if (found.certificates.length) throw problem('alreadyReplaced', `certificate ${cert.serial} was already replaced by certificate ${found.certificates[0]}`);
  for (const o of found.orders) {
    // A refusal is decided on the stored authorizations (not a shared store's per-instance copies).
    if ((await currentOrderStatus(ctx, o, true)) !== 'invalid') {
      throw problem('alreadyReplaced', `certificate ${cert.serial} is already being replaced by another order`);
    }
  }
  // Synchronous from here to the caller's claim: a concurrent newOrder for the same serial that
  // passed the checks above while this one awaited is refused here.
  if (ctx.replacing.has(cert.serial)) throw problem('alreadyReplaced', `certificate ${cert.serial} is already being replaced by another order`);
  return cert.serial;
}
