import type { ErrorKind } from '../ca/errors.js';

export type NixosErrorCode =
  | 'NIXOS_NAME_INVALID'
  | 'NIXOS_URL_INVALID'
  | 'NIXOS_PATH_INVALID'
  | 'NIXOS_KEY_INVALID'
  | 'NIXOS_INVENTORY_INVALID'
  | 'NIXOS_ROOT_INVALID'
  | 'NIXOS_OPTION_INVALID'
  | 'NIXOS_OUT_NOT_OURS'
  | 'NIXOS_NAME_CONSTRAINED';

const KIND: Record<NixosErrorCode, ErrorKind> = {
  NIXOS_NAME_INVALID: 'input',
  NIXOS_URL_INVALID: 'input',
  NIXOS_PATH_INVALID: 'input',
  NIXOS_KEY_INVALID: 'input',
  NIXOS_INVENTORY_INVALID: 'input',
  NIXOS_ROOT_INVALID: 'input',
  NIXOS_OPTION_INVALID: 'usage',
  NIXOS_OUT_NOT_OURS: 'conflict',
  NIXOS_NAME_CONSTRAINED: 'policy',
};

export class NixosError extends Error {
  override readonly name = 'NixosError';
  readonly kind: ErrorKind;
  constructor(readonly code: NixosErrorCode, message: string) {
    super(message);
    this.kind = KIND[code];
  }
}
