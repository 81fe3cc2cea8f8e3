// Only commands that create state create a state directory (`issuer init`, `serve --dev`): every
// other command refuses a --state (or $NIXCA_STATE_DIR, or the default) that does not exist, so a
// mistyped path is an error naming it, never a new empty issuer state.
import { access, constants, stat } from 'node:fs/promises';
import { stateDir, type CliContext } from './context.js';
import { CliError } from './errors.js';
import type { InventoryData } from '../src/inventory/model.js';

/** The commands that make a state directory, as the refusal names them. */
export const STATE_INIT_HINT = (dir: string) =>
  `create one with \`nixca issuer init --state ${dir}\` (or \`nixca serve --dev --state ${dir}\`), or fix --state`;

/** Refuses (not-found, exit 4) a state directory that does not exist or is not a directory. */
export async function requireStateDir(dir: string): Promise<string> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    if (err.code === 'EACCES' || err.code === 'EPERM') throw denied(dir);
    throw err;
  });
  if (!st) throw new CliError('not-found', `no nixca state directory at ${dir}; ${STATE_INIT_HINT(dir)}`, 'CLI_NO_STATE');
  if (!st.isDirectory()) throw new CliError('not-found', `${dir} is not a directory (--state names the issuer's state directory)`, 'CLI_NO_STATE');
  // A user who may not enter it is refused as the admin socket refuses them (exit 6, one line),
  // by every command, readers included, rather than failing later on whichever file comes first.
  await requireStateAccess(dir, false);
  return dir;
}

function denied(dir: string): CliError {
  return new CliError('auth', `permission denied: ${dir} is readable only by root and the issuer's own user; running as uid ${process.getuid?.() ?? '?'}`);
}

/** Refuses (auth, exit 6) a user who may not enter the state directory (or, with `write`, change it). */
export async function requireStateAccess(dir: string, write: boolean): Promise<void> {
  const mode = constants.R_OK | constants.X_OK | (write ? constants.W_OK : 0);
  // Other errors (a missing directory) are left to whatever reads it next, which names them.
  await access(dir, mode).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EACCES' && err.code !== 'EPERM') return;
    throw denied(dir);
  });
}

/** `--state` (or its defaults) resolved, and required to exist. */
export async function existingStateDir(ctx: CliContext, flag: string | undefined): Promise<string> {
  return requireStateDir(stateDir(ctx, flag));
}

/** The inventory for reading only: the state directory must exist; nothing is created or audited. */
export async function readInventory(ctx: CliContext, state: string | undefined): Promise<InventoryData> {
  const { openInventoryStore } = await import('../src/store/inventory.js');
  return (await openInventoryStore(await existingStateDir(ctx, state))).read();
}
