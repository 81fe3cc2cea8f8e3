// Errors of the ceremony steps that are not certificate math (src/ca/errors.ts has those): stable
// codes for tests, a kind that cli/ maps to an exit code.
import type { ErrorKind } from '../ca/errors.js';

export type CeremonyErrorCode =
  | 'CEREMONY_USAGE'
  | 'CEREMONY_INPUT'
  | 'CEREMONY_NOT_ROOT_DIR'
  | 'CEREMONY_NOT_INSTALLED'
  | 'CEREMONY_EXISTS'
  | 'CEREMONY_BUSY'
  | 'CEREMONY_DAMAGED'
  | 'CEREMONY_INTERRUPTED'
  | 'CEREMONY_PARTLY_DONE';

const KIND: Record<CeremonyErrorCode, ErrorKind> = {
  CEREMONY_USAGE: 'usage',
  CEREMONY_INPUT: 'input',
  CEREMONY_NOT_ROOT_DIR: 'not-found',
  CEREMONY_NOT_INSTALLED: 'not-found',
  CEREMONY_EXISTS: 'conflict',
  CEREMONY_BUSY: 'conflict',
  CEREMONY_DAMAGED: 'input',
  // The root directory records a step that did not finish (or a change made outside nixca):
  // refused until `root transcript repair` records what happened.
  CEREMONY_INTERRUPTED: 'conflict',
  // The step is done and recorded, but a copy outside the root directory could not be written.
  CEREMONY_PARTLY_DONE: 'io',
};

export class CeremonyError extends Error {
  override readonly name = 'CeremonyError';
  readonly kind: ErrorKind;
  constructor(readonly code: CeremonyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = KIND[code];
  }
}
