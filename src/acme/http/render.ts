// ACME objects as JSON (RFC 8555 §7.1.2–§7.1.5). Statuses are derived here from the facts.
import type { AcmeContext } from '../context.js';
import type { AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord } from '../model.js';
import { authorizationStatus, orderStatus } from '../status.js';
import type { Links } from './links.js';

export function renderAccount(a: AccountRecord, links: Links): Record<string, unknown> {
  return {
    status: a.status,
    contact: a.contact,
    orders: links.accountOrders(a.id),
    ...(a.externalAccountBinding ? { externalAccountBinding: a.externalAccountBinding } : {}),
    createdAt: a.createdAt,
  };
}

export function renderChallenge(authz: AuthorizationRecord, c: ChallengeRecord, links: Links): Record<string, unknown> {
  return {
    type: c.type,
    url: links.challenge(authz.id, c.id),
    status: c.status,
    token: c.token,
    ...(c.validated ? { validated: c.validated } : {}),
    ...(c.error ? { error: c.error } : {}),
  };
}

export function renderAuthorization(ctx: AcmeContext, a: AuthorizationRecord, links: Links): Record<string, unknown> {
  const status = authorizationStatus(a, ctx.now());
  // §7.1.4: once valid, only the challenge that succeeded is listed.
  const challenges = status === 'valid' || status === 'expired' ? a.challenges.filter((c) => c.status === 'valid') : a.challenges;
  return {
    identifier: a.identifier,
    status,
    expires: a.expires,
    challenges: challenges.map((c) => renderChallenge(a, c, links)),
  };
}

export function renderOrder(ctx: AcmeContext, o: OrderRecord, authzs: readonly AuthorizationRecord[], links: Links): Record<string, unknown> {
  const status = orderStatus(o, authzs, ctx.now(), ctx.finalizing.has(o.id));
  return {
    status,
    expires: o.expires,
    identifiers: o.identifiers,
    ...(o.notBefore ? { notBefore: o.notBefore } : {}),
    ...(o.notAfter ? { notAfter: o.notAfter } : {}),
    ...(o.error ? { error: o.error } : {}),
    ...(o.replaces ? { replaces: o.replaces } : {}),
    authorizations: o.authorizationIds.map((id) => links.authz(id)),
    finalize: links.finalize(o.id),
    ...(o.certificateSerial ? { certificate: links.certificate(o.certificateSerial) } : {}),
  };
}
