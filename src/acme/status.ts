// Derived statuses (RFC 8555 §7.1.6), Pebble's core/types.go style: computed from the facts
// (challenge results, expiry, deactivation, issued certificate), never stored.
import type { AuthorizationRecord, AuthorizationStatus, ChallengeRecord, OrderRecord, OrderStatus } from './model.js';

export function authorizationStatus(a: AuthorizationRecord, now: Date): AuthorizationStatus {
  if (a.revoked) return 'revoked';
  if (a.deactivated) return 'deactivated';
  const expired = now.getTime() >= Date.parse(a.expires);
  if (a.challenges.some((c) => c.status === 'valid')) return expired ? 'expired' : 'valid';
  // §7.1.6: a failed attempt at fulfilling a challenge makes the authorization invalid.
  if (a.challenges.some((c) => c.status === 'invalid')) return 'invalid';
  return expired ? 'expired' : 'pending';
}

export function orderStatus(o: OrderRecord, authzs: readonly AuthorizationRecord[], now: Date, finalizing: boolean): OrderStatus {
  if (o.certificateSerial) return 'valid';
  if (o.error || now.getTime() >= Date.parse(o.expires)) return 'invalid';
  const st = authzs.map((a) => authorizationStatus(a, now));
  if (st.length !== o.authorizationIds.length || st.some((s) => s !== 'valid' && s !== 'pending')) return 'invalid';
  if (st.some((s) => s === 'pending')) return 'pending';
  return finalizing ? 'processing' : 'ready';
}

export function findChallenge(a: AuthorizationRecord, challengeId: string): ChallengeRecord | undefined {
  return a.challenges.find((c) => c.id === challengeId);
}
