// Errors with stable codes (jose style). `kind` is what cli/main.ts maps to an exit code;
// `code` is what tests assert and what other boundaries (ACME problems) map from.
// 'check': a verification ran and the answer is no (exit 1), as opposed to a failure to run it.
export type ErrorKind = 'check' | 'usage' | 'input' | 'not-found' | 'conflict' | 'auth' | 'io' | 'policy';

export type CaErrorCode =
  | 'CA_KEY_UNSUPPORTED'
  | 'CA_KEY_WEAK'
  | 'CA_KEY_MISMATCH'
  | 'CA_PASSPHRASE_WRONG'
  | 'CA_PASSPHRASE_WEAK'
  | 'CA_PEM_INVALID'
  | 'CA_CSR_INVALID'
  | 'CA_CSR_SIGNATURE_INVALID'
  | 'CA_CSR_REQUESTS_CA'
  | 'CA_NAME_INVALID'
  | 'CA_NAME_NOT_PERMITTED'
  | 'CA_CHAIN_INVALID'
  | 'CA_VALIDITY_INVALID'
  | 'CA_SHARES_INSUFFICIENT'
  | 'CA_SHARE_INVALID'
  | 'CA_TRANSCRIPT_INVALID'
  | 'CA_SERIAL_UNKNOWN'
  | 'CA_ALREADY_REVOKED';

const KIND: Record<CaErrorCode, ErrorKind> = {
  CA_KEY_UNSUPPORTED: 'input',
  CA_KEY_WEAK: 'input',
  CA_KEY_MISMATCH: 'input',
  CA_PASSPHRASE_WRONG: 'auth',
  CA_PASSPHRASE_WEAK: 'input',
  CA_PEM_INVALID: 'input',
  CA_CSR_INVALID: 'input',
  CA_CSR_SIGNATURE_INVALID: 'input',
  CA_CSR_REQUESTS_CA: 'policy',
  CA_NAME_INVALID: 'input',
  CA_NAME_NOT_PERMITTED: 'policy',
  CA_CHAIN_INVALID: 'input',
  CA_VALIDITY_INVALID: 'input',
  CA_SHARES_INSUFFICIENT: 'auth',
  CA_SHARE_INVALID: 'auth',
  CA_TRANSCRIPT_INVALID: 'auth',
  CA_SERIAL_UNKNOWN: 'not-found',
  CA_ALREADY_REVOKED: 'conflict',
};

export class CaError extends Error {
  override readonly name = 'CaError';
  readonly kind: ErrorKind;
  constructor(readonly code: CaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = KIND[code];
  }
}
