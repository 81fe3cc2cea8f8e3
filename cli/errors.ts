import type { ErrorKind } from '../src/ca/errors.js';

/** Errors raised by cli/ itself (bad flags, unreadable files, missing passphrase). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(readonly kind: ErrorKind, message: string, readonly code = 'CLI_' + kind.toUpperCase().replace('-', '_')) {
    super(message);
  }
}

/**
 * The one exit-code table (nest-cli/shadcn: one error sink). Stable per error kind so that scripts
 * can tell "the check said no" from "bad input" from "wrong passphrase". Documented in README.
 */
export const EXIT_CODES: Record<ErrorKind | 'internal', number> = {
  check: 1,
  usage: 2,
  input: 3,
  'not-found': 4,
  conflict: 5,
  auth: 6,
  io: 7,
  policy: 8,
  internal: 70,
};

interface Classified {
  kind: ErrorKind | 'internal';
  message: string;
}

const FS_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on device',
  EADDRINUSE: 'address already in use',
};

/** Maps any thrown value to a kind and one line of text; never includes a stack or a secret. */
export function classify(err: unknown): Classified {
  const e = err as { kind?: unknown; message?: unknown; code?: unknown; path?: unknown; address?: unknown; port?: unknown };
  if (e && typeof e.kind === 'string' && e.kind in EXIT_CODES && typeof e.message === 'string') {
    return { kind: e.kind as ErrorKind, message: e.message };
  }
  if (e && typeof e.code === 'string' && e.code.startsWith('commander.')) {
    return { kind: 'usage', message: String(e.message).replace(/^error: /, '') };
  }
  if (e && typeof e.code === 'string' && e.code in FS_MESSAGES) {
    const where = typeof e.path === 'string' ? e.path : e.address ? `${String(e.address)}:${String(e.port)}` : '';
    return { kind: e.code === 'EEXIST' ? 'conflict' : 'io', message: `${where ? where + ': ' : ''}${FS_MESSAGES[e.code]}` };
  }
  return { kind: 'internal', message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}
