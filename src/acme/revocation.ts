// revokeCert (RFC 8555 §7.6): by the issuing account (or an account bound to a node that owns all
// the names, or holding valid authorizations for them), or by the certificate's own key (jwk).
import { Buffer } from 'node:buffer';
import { x509 } from '../ca/x509.js';
import { nodeOwns } from '../inventory/inventory.js';
import { normalizeSerial } from '../ca/serial.js';
import { auditCommit, auditReady, emit, isObject, type AcmeContext } from './context.js';
import { jwkSpki } from './csr.js';
import { sha256Hex } from '../ca/inspect.js';
import type { VerifiedJws } from './jws.js';
import type { AccountRecord, RevocationRecord } from './model.js';
import { base64urlMember } from './json.js';
import { problem } from './problems.js';
import { authorizationStatus } from './status.js';

/** RFC 5280 §5.3.1 reasons a subscriber may give for a leaf (no cACompromise, removeFromCRL, …). */
export const REVOCATION_REASONS: Readonly<Record<number, string>> = {
  0: 'unspecified',
  1: 'keyCompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  9: 'privilegeWithdrawn',
};

export async function revokeCertificate(ctx: AcmeContext, jws: VerifiedJws, account: AccountRecord | undefined): Promise<RevocationRecord> {
  const p = jws.payload;
  if (!isObject(p)) throw problem('malformed', 'the revokeCert payload must be a JSON object with "certificate"');
  const der = base64urlMember(p.certificate, '"certificate" (the DER of the certificate)');
  // §7.6: reason is optional; when present it is an integer code (null is not "absent").
  const reason = p.reason === undefined ? 0 : p.reason;
  if (typeof reason !== 'number' || !Number.isInteger(reason) || !(reason in REVOCATION_REASONS)) {
    throw problem('badRevocationReason', `reason must be one of ${Object.entries(REVOCATION_REASONS).map(([k, v]) => `${k} (${v})`).join(', ')}`);
  }
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(Buffer.from(der));
  } catch {
    throw problem('malformed', '"certificate" is not a DER X.509 certificate');
  }
  const serial = normalizeSerial(cert.serialNumber);
  const record = await ctx.store.getCertificate(serial);
  const chain = record && (await ctx.store.getCertificateChain(serial));
  // Compare the whole DER with what we issued: a look-alike with our serial is not ours.
  const ours = chain && new x509.X509Certificate(chain.split(/(?=-----BEGIN CERTIFICATE-----)/)[0]!);
  if (!record || !ours || Buffer.compare(Buffer.from(ours.rawData), Buffer.from(der)) !== 0) {
    throw problem('malformed', 'this certificate was not issued by this CA', { status: 404 });
  }
  let by: string;
  if (account) {
    if (!(await accountMayRevoke(ctx, account, record.accountId, record.node, record.names))) {
      throw problem('unauthorized', 'this account neither issued this certificate nor controls all of its names');
    }
    by = `account:${account.id}`;
  } else {
    // §7.6: a request signed by the certificate's key (jwk) proves control of that key.
    if (sha256Hex(jwkSpki(jws.jwk)) !== record.spkiSha256) throw problem('unauthorized', 'the JWS key is not this certificate\'s key');
    by = 'certificate-key';
  }
  if (await ctx.store.getRevocation(serial)) throw problem('alreadyRevoked', `certificate ${serial} is already revoked`);
  await auditReady(ctx, 'revocation');
  const rev: RevocationRecord = { serial, reason, revokedAt: ctx.now().toISOString(), by };
  await ctx.store.putRevocation(rev, auditCommit(ctx, 'revocation', (a) => a.certificateRevoked(rev, record)));
  ctx.log.info({ serial, reason: REVOCATION_REASONS[reason], by }, 'certificate revoked');
  await emit(ctx, 'certificateRevoked', rev, record);
  return rev;
}

async function accountMayRevoke(ctx: AcmeContext, account: AccountRecord, issuer: string, _node: string | null, names: readonly string[]): Promise<boolean> {
  if (account.id === issuer) return true;
  if (account.node !== null) {
    const node = (await ctx.inventory.read()).nodes.find((n) => n.name === account.node);
    if (node && names.every((n) => nodeOwns(node, n))) return true;
  }
  // §7.6: an account holding valid authorizations for every name may revoke.
  const now = ctx.now();
  for (const name of names) {
    const a = await ctx.store.findReusableAuthorization(account.id, name, now);
    if (!a || authorizationStatus(a, now) !== 'valid') return false;
  }
  return true;
}
