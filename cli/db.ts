// `nixca db migrate|status|import`: the shared PostgreSQL store's schema (docs/postgres.md).
import type { Command } from 'commander';
import type { CliContext, RegisterGroup } from './context.js';
import { emit } from './io.js';
import { addStoreOptions, type StoreFlags } from './store-option.js';
import { withPool } from './db-pool.js';
import { registerDbImport } from './db-import.js';

export const registerDb: RegisterGroup = (program: Command, ctx: CliContext) => {
  const db = program.command('db').description('the shared PostgreSQL store: schema migrations and status');
  addStoreOptions(
    db.command('migrate').description('apply the schema migrations this nixca knows (idempotent; one transaction; safe to run from several hosts at once)'),
  )
    .option('--json', 'print JSON')
    .action(async (opts: StoreFlags & { json?: boolean }) => {
      const { migrate } = await import('../src/store/pg/migrate.js');
      const r = await withPool(ctx, opts, (pool) => migrate(pool));
      emit(ctx.io, opts, r, (d) => (d.applied.length ? d.applied.map((m) => `applied migration ${m.version}: ${m.name}`).join('\n') + `\nschema is at version ${d.to}` : `schema is at version ${d.to}; nothing to do`));
    });
  addStoreOptions(db.command('status').description('schema version and record counts of the shared store'))
    .option('--json', 'print JSON')
    .action(async (opts: StoreFlags & { json?: boolean }) => {
      const { checkSchema } = await import('../src/store/pg/migrate.js');
      const { countStats } = await import('../src/store/pg/stats.js');
      const r = await withPool(ctx, opts, async (pool, display) => {
        const version = await checkSchema(pool, display);
        const s = await countStats(pool, ctx.io.now());
        return { store: display, schemaVersion: version, accounts: s.accounts, orders: s.orders, certificates: s.certificates, revocations: s.revocations };
      });
      emit(ctx.io, opts, r, (d) => [`store:          ${d.store}`, `schema version: ${d.schemaVersion}`, `accounts:       ${d.accounts}`, `orders:         ${d.orders}`, `certificates:   ${d.certificates}`, `revocations:    ${d.revocations}`].join('\n'));
    });
  registerDbImport(db, ctx);
};
