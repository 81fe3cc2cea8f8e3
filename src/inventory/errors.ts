import type { ErrorKind } from '../ca/errors.js';

export type InventoryErrorCode =
  | 'INVENTORY_NAME_INVALID'
  | 'INVENTORY_NODE_EXISTS'
  | 'INVENTORY_NODE_UNKNOWN'
  | 'INVENTORY_NAME_OWNED'
  | 'INVENTORY_LOCKED'
  | 'INVENTORY_CORRUPT';

const KIND: Record<InventoryErrorCode, ErrorKind> = {
  INVENTORY_NAME_INVALID: 'input',
  INVENTORY_NODE_EXISTS: 'conflict',
  INVENTORY_NODE_UNKNOWN: 'not-found',
  INVENTORY_NAME_OWNED: 'conflict',
  INVENTORY_LOCKED: 'io',
  INVENTORY_CORRUPT: 'io',
};

export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  readonly kind: ErrorKind;
  constructor(readonly code: InventoryErrorCode, message: string) {
    super(message);
    this.kind = KIND[code];
  }
}
