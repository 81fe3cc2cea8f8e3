// Where the admin socket is: one rule for `nixca serve` and every CLI command, so that the two meet
// on the same path however it is configured.
import { isAbsolute, join, resolve } from 'node:path';
import { OpsError } from './types.js';

export const ADMIN_SOCKET_FILE = 'admin.sock';
/** A unix socket path holds at most 108 bytes including the terminating NUL (unix(7), sun_path). */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * The admin socket path: the configured one (serve's `adminSocket` setting or a command's
 * --admin-socket), else $NIXCA_ADMIN_SOCKET (given here as `env`; empty counts as unset), else
 * STATE/admin.sock. Relative paths are taken from `cwd`. Too long a path is refused here, with the
 * path named, rather than by bind/connect with EINVAL.
 */
export function adminSocketPathOf(o: { configured?: string | undefined; env?: string | undefined; state: string; cwd: string }): string {
  const chosen = o.configured || o.env || join(o.state, ADMIN_SOCKET_FILE);
  const path = isAbsolute(chosen) ? chosen : resolve(o.cwd, chosen);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    const from = o.configured ? 'the configured admin socket' : o.env ? '$NIXCA_ADMIN_SOCKET' : 'the default admin socket (in the state directory)';
    throw new OpsError('usage', `${from} ${path} is ${Buffer.byteLength(path)} bytes long; a unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter one (e.g. /run/nixca/admin.sock) with --admin-socket or $NIXCA_ADMIN_SOCKET`);
  }
  return path;
}
