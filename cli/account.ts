// `nixca account …`: ACME accounts (RFC 8555 §7.1.2), which node each is bound to, and operator
// deactivation (§7.3.6), applied through the running issuer when there is one.
import type { Command } from 'commander';
import { STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';
import { ADMIN_SOCKET_OPTION_HELP } from './ops.js';
import { withReadStore } from './cert.js';
import { addStoreOptions, readSelectedInventory, storeSelection, type StoreFlags } from './store-option.js';
import type { AccountView } from '../src/ops/queries.js';

async function inventoryOf(ctx: CliContext, flags: StoreFlags) {
  const { requireStateDir } = await import('./state-dir.js');
  const sel = storeSelection(ctx, flags);
  // requireStateDir also refuses a user who may not enter it (exit 6).
  if (sel.url === undefined) await requireStateDir(sel.state);
  return readSelectedInventory(ctx, flags);
}

function accountLine(a: AccountView): string {
  return `${a.id}  ${a.node ?? '-'}  ${a.status}${a.status === 'valid' && !a.usable ? ' (refused: ' + a.refusedBecause + ')' : ''}  ${a.eabKeyId ?? '-'}  ${a.createdAt}`;
}

export const registerAccount: RegisterGroup = (program: Command, ctx: CliContext) => {
  const account = program.command('account').description('ACME accounts and the nodes they are bound to');

  addStoreOptions(account
    .command('list'))
    .description('accounts, oldest first')
    .option('--node <node>', 'only accounts bound to this node name')
    .option('--status <status>', 'valid, deactivated or revoked')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: StoreFlags & { node?: string; status?: string; json?: boolean }) => {
      if (opts.status && !['valid', 'deactivated', 'revoked'].includes(opts.status)) throw new CliError('usage', `--status must be valid, deactivated or revoked, got ${JSON.stringify(opts.status)}`);
      const { listAccounts } = await import('../src/ops/queries.js');
      const inv = await inventoryOf(ctx, opts);
      const list = (await withReadStore(ctx, opts, ({ store }) => listAccounts(store, inv, { node: opts.node, status: opts.status as AccountView['status'] | undefined }))) ?? [];
      emit(ctx.io, opts, list, (l) => (l.length ? l.map(accountLine).join('\n') : 'no accounts match'));
    });

  addStoreOptions(account
    .command('show'))
    .description('one account')
    .argument('<id>')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: StoreFlags & { json?: boolean }) => {
      const { showAccount } = await import('../src/ops/queries.js');
      const inv = await inventoryOf(ctx, opts);
      const a = await withReadStore(ctx, opts, ({ store }) => showAccount(store, inv, id));
      if (!a) throw new CliError('not-found', `no account ${JSON.stringify(id)} (no ACME store yet)`);
      emit(ctx.io, opts, a, (x) =>
        [`account ${x.id}`, `  status:  ${x.status}${x.usable ? '' : ` (refused: ${x.refusedBecause})`}`, `  node:    ${x.node ?? '-'}${x.nodeId ? ` (identity ${x.nodeId})` : ''}`, `  eab key: ${x.eabKeyId ?? '-'}`, `  contact: ${x.contact.join(', ') || '-'}`, `  created: ${x.createdAt}`, `  certificates: ${x.certificates}`].join('\n'),
      );
    });

  addStoreOptions(account
    .command('deactivate'))
    .description('deactivate an account (final, RFC 8555 §7.3.6): its requests get unauthorized')
    .argument('<id>')
    .option('--reason <text>', 'why (recorded in the audit log)', 'operator request')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: StoreFlags & { reason: string; adminSocket?: string; json?: boolean }) => {
      const { runOperation, printResult } = await import('./ops.js');
      printResult(ctx, opts.json, await runOperation(ctx, opts, { op: 'account.deactivate', id, reason: opts.reason }));
    });
};
