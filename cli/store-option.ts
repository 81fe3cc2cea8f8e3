// `--store URL` / NIXCA_STORE and `--store-password-file` for every command that reads or writes
// issuer state. postgres://… selects the shared PostgreSQL store (docs/postgres.md); absent, the
// embedded store in --state. The password comes from a file or the systemd credential
// nixca-store-password, never from argv.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { stateDir } from './context.js';
import { checkSecretFileMode } from './secrets.js';
import type { InventoryData } from '../src/inventory/model.js';

export const STORE_CREDENTIAL = 'nixca-store-password';

export interface StoreFlags {
  state?: string;
  store?: string;
  storePasswordFile?: string;
}

export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--store <url>', 'shared store postgres://USER@HOST/DB or postgres://USER@/DB?host=/run/postgresql (default: $NIXCA_STORE, else the embedded store in --state)')
    .option('--store-password-file <file>', `file holding the database password (else $CREDENTIALS_DIRECTORY/${STORE_CREDENTIAL} if present, else peer authentication)`);
}

/** The selection as src/store/open.ts takes it. */
export function storeSelection(ctx: CliContext, flags: StoreFlags): { state: string; url?: string; passwordFile?: string } {
  const url = flags.store ?? (ctx.io.env.NIXCA_STORE || undefined);
  let passwordFile = flags.storePasswordFile;
  const credDir = ctx.io.env.CREDENTIALS_DIRECTORY;
  if (url !== undefined && passwordFile === undefined && credDir && existsSync(join(credDir, STORE_CREDENTIAL))) passwordFile = join(credDir, STORE_CREDENTIAL);
  if (flags.storePasswordFile !== undefined) checkSecretFileMode(ctx.io, flags.storePasswordFile, { name: 'store password file', risk: 'the database password' });
  return { state: stateDir(ctx, flags.state), ...(url !== undefined ? { url } : {}), ...(passwordFile !== undefined ? { passwordFile } : {}) };
}

/**
 * The inventory of the selected store, for reading: the shared database's, or inventory.json in
 * --state (which must exist; nothing is created).
 */
export async function readSelectedInventory(ctx: CliContext, flags: StoreFlags): Promise<InventoryData> {
  const sel = storeSelection(ctx, flags);
  if (sel.url === undefined) return (await import('./state-dir.js')).readInventory(ctx, flags.state);
  return (await (await import('../src/store/open.js')).openSelectedInventory(sel)).read();
}
