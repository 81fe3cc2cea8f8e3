// `nixca renew-now NODE|--all`: moves the ARI renewal window (RFC 9773) of the node's current
// certificates to now (src/ops renewNow). Clients that poll renewalInfo renew at their next check;
// the command warns about nodes whose clients never fetched it, since those will not.
import type { Command } from 'commander';
import { STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { ADMIN_SOCKET_OPTION_HELP } from './ops.js';
import { addStoreOptions, type StoreFlags } from './store-option.js';

export const registerRenew: RegisterGroup = (program: Command, ctx: CliContext) => {
  addStoreOptions(program
    .command('renew-now'))
    .description("ask a node's ACME client (or every node's) to renew now: moves their ARI renewal window to this moment")
    .argument('[node]', 'the node whose certificates should be renewed')
    .option('--all', 'every node in the inventory (e.g. after an intermediate rotation)')
    .option('--reason <text>', 'why (recorded in the audit log)', 'operator request')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: StoreFlags & { all?: boolean; reason: string; adminSocket?: string; json?: boolean }) => {
      if (!name === !opts.all) throw new CliError('usage', 'give exactly one of NODE or --all');
      if (!opts.reason.trim() || opts.reason.length > 500) throw new CliError('usage', '--reason must be 1 to 500 characters');
      const { runOperation, printResult } = await import('./ops.js');
      const r = await runOperation(ctx, opts, { op: 'renew-now', nodes: opts.all ? 'all' : [name!], reason: opts.reason });
      printResult(ctx, opts.json, r);
    });
};
