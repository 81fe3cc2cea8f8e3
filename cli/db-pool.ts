// A pool on the shared store of --store / NIXCA_STORE for one `nixca db …` command, closed after.
import type { Pool } from '../src/store/pg/connect.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { storeSelection, type StoreFlags } from './store-option.js';

export async function withPool<T>(ctx: CliContext, flags: StoreFlags, fn: (pool: Pool, display: string) => Promise<T>): Promise<T> {
  const sel = storeSelection(ctx, flags);
  if (sel.url === undefined) throw new CliError('usage', 'give --store postgres://… (or set NIXCA_STORE): db commands work on the shared store');
  const { checkStoreSelection } = await import('../src/store/open.js');
  const { openPool, describeConnectError } = await import('../src/store/pg/connect.js');
  checkStoreSelection(sel);
  const p = await openPool({ url: sel.url, passwordFile: sel.passwordFile, max: 1 });
  try {
    return await fn(p.pool, p.display).catch((err: Error & { kind?: string }) => {
      throw err.kind ? err : describeConnectError(p.display, err);
    });
  } finally {
    await p.end();
  }
}
