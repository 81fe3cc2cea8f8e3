// Errors of the configuration layer: a setting or flag value that does not parse is a usage
// error (exit 2), whether it came from argv or from a --config file.
import type { ErrorKind } from '../ca/errors.js';

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_UNREADABLE';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly kind: ErrorKind;
  constructor(readonly code: ConfigErrorCode, message: string) {
    super(message);
    this.kind = code === 'CONFIG_UNREADABLE' ? 'io' : 'usage';
  }
}
