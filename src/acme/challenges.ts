// Challenges (RFC 8555 §8): the types the ACME core and the validators (http-01.ts, tls-alpn-01.ts,
// validation.ts) meet at, and the key authorization both sides compute.

/** The challenge types this server offers. dns-01 is not implemented, so it is never advertised. */
export type ChallengeType = 'http-01' | 'tls-alpn-01';
export const CHALLENGE_TYPES: readonly ChallengeType[] = ['http-01', 'tls-alpn-01'];

export interface ValidationRequest {
  type: ChallengeType;
  /** The DNS name being validated (the authorization's identifier value). */
  identifier: string;
  token: string;
  /** token || "." || base64url(JWK thumbprint) (RFC 8555 §8.1). */
  keyAuthorization: string;
}

/** Validation failures carry the precise problem type (§6.7); never `rejectedIdentifier` (notes §2.8). */
export type ValidationProblemType = 'connection' | 'dns' | 'incorrectResponse' | 'tls' | 'unauthorized' | 'serverInternal';

export type ValidationOutcome =
  | { valid: true }
  | { valid: false; problem: { type: ValidationProblemType; detail: string } };

export interface ChallengeValidator {
  /** Must resolve (never reject) with an outcome; the core turns a rejection into serverInternal. */
  validate(req: ValidationRequest, signal?: AbortSignal): Promise<ValidationOutcome>;
}

/**
 * RFC 8555 §8.1: keyAuthorization = token || '.' || base64url(Thumbprint(accountKey)). The
 * RFC 7638 thumbprint is the one stored on the account (computed with jose when its key was set),
 * so a validation costs no digest.
 */
export function keyAuthorization(token: string, accountThumbprint: string): string {
  return `${token}.${accountThumbprint}`;
}
