// Errors of the audit log, with stable codes (jose style). `kind` is what cli/main.ts maps to an
// exit code (README "Exit codes"); `code` is what tests assert.
import type { ErrorKind } from '../ca/errors.js';

export type AuditErrorCode =
  | 'AUDIT_NO_LOG'
  | 'AUDIT_LOCKED'
  | 'AUDIT_DAMAGED'
  | 'AUDIT_KEY_MISMATCH'
  | 'AUDIT_KEY_INVALID'
  | 'AUDIT_SECRET_REFUSED'
  | 'AUDIT_EVENT_INVALID'
  | 'AUDIT_INVALID'
  | 'AUDIT_ANCHOR_INVALID';

const KIND: Record<AuditErrorCode, ErrorKind> = {
  AUDIT_NO_LOG: 'not-found',
  AUDIT_LOCKED: 'io',
  // The newest complete entry cannot be read: appending would fork or hide the damage.
  AUDIT_DAMAGED: 'check',
  // The key file in the state dir does not sign like the log's key: someone swapped it.
  AUDIT_KEY_MISMATCH: 'auth',
  AUDIT_KEY_INVALID: 'io',
  // A caller tried to log a secret (an EAB MAC key, a private key): a bug in the caller.
  AUDIT_SECRET_REFUSED: 'policy',
  AUDIT_EVENT_INVALID: 'input',
  AUDIT_INVALID: 'check',
  AUDIT_ANCHOR_INVALID: 'usage',
};

export class AuditError extends Error {
  override readonly name = 'AuditError';
  readonly kind: ErrorKind;
  constructor(readonly code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = KIND[code];
  }
}
