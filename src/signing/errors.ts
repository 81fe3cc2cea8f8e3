// Errors of the signing-key area, with stable codes (jose style). `kind` is what cli/main.ts maps
// to an exit code (README "Exit codes"); `code` is what tests assert.
import type { ErrorKind } from '../ca/errors.js';

export type SigningErrorCode =
  | 'SIGNING_KEY_NO_NAME'
  | 'SIGNING_KEY_NAME_INVALID'
  | 'SIGNING_KEY_BASE64_INVALID'
  | 'SIGNING_KEY_LENGTH'
  | 'SIGNING_KEY_CORRUPT'
  | 'SIGNING_KEY_NAME_TAKEN'
  | 'SIGNING_KEY_DUPLICATE'
  | 'SIGNING_KEY_REVOKED'
  | 'SIGNING_KEY_UNKNOWN'
  | 'SIGNING_KEY_ALREADY_REVOKED'
  | 'SIGNING_NEXT_EXISTS'
  | 'SIGNING_KEY_PUBLISHED'
  | 'SIGNING_NO_HOST'
  | 'SIGNING_ROTATION_UNSAFE'
  | 'SIGNING_ROTATION_NEEDS_KEY'
  | 'SIGNING_REASON_REQUIRED'
  | 'SIGNING_HASH_INVALID'
  | 'SIGNING_STORE_PATH_INVALID'
  | 'SIGNING_NARINFO_INVALID'
  | 'SIGNING_NARINFO_MISSING_FIELD'
  | 'SIGNING_NO_VALID_SIGNATURE';

const KIND: Record<SigningErrorCode, ErrorKind> = {
  SIGNING_KEY_NO_NAME: 'input',
  SIGNING_KEY_NAME_INVALID: 'input',
  SIGNING_KEY_BASE64_INVALID: 'input',
  SIGNING_KEY_LENGTH: 'input',
  SIGNING_KEY_CORRUPT: 'input',
  SIGNING_KEY_NAME_TAKEN: 'conflict',
  SIGNING_KEY_DUPLICATE: 'conflict',
  // A revoked key is refused forever, whatever the operator asks: that is policy, not a clash.
  SIGNING_KEY_REVOKED: 'policy',
  SIGNING_KEY_UNKNOWN: 'not-found',
  SIGNING_KEY_ALREADY_REVOKED: 'conflict',
  SIGNING_NEXT_EXISTS: 'conflict',
  SIGNING_KEY_PUBLISHED: 'conflict',
  SIGNING_NO_HOST: 'usage',
  SIGNING_ROTATION_UNSAFE: 'policy',
  SIGNING_ROTATION_NEEDS_KEY: 'usage',
  SIGNING_REASON_REQUIRED: 'usage',
  SIGNING_HASH_INVALID: 'input',
  SIGNING_STORE_PATH_INVALID: 'input',
  SIGNING_NARINFO_INVALID: 'input',
  SIGNING_NARINFO_MISSING_FIELD: 'input',
  SIGNING_NO_VALID_SIGNATURE: 'check',
};

export class SigningError extends Error {
  override readonly name = 'SigningError';
  readonly kind: ErrorKind;
  constructor(readonly code: SigningErrorCode, message: string) {
    super(message);
    this.kind = KIND[code];
  }
}
