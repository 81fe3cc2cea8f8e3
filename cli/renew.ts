// `nixca renew-now NODE|--all`: moves the ARI renewal window (RFC 9773) of the node's current
// certificates to now, by setting `renewAfter` in the inventory; the ACME `renewalInfo` endpoint
// and `nixca status` compute windows from it (src/status/ari-window.ts). For an intermediate
// rotation (--all) or a suspected key compromise (one node, then `cert revoke`).
import type { Command } from 'commander';
import { STATE_OPTION_HELP, stateDir, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';

export const registerRenew: RegisterGroup = (program: Command, ctx: CliContext) => {
  program
    .command('renew-now')
    .description("ask a node's ACME client (or every node's) to renew now: moves their ARI renewal window to this moment")
    .argument('[node]', 'the node whose certificates should be renewed')
    .option('--all', 'every node in the inventory (e.g. after an intermediate rotation)')
    .option('--reason <text>', 'why (recorded in the audit log)', 'operator request')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: { all?: boolean; reason: string; state?: string; json?: boolean }) => {
      if (!name === !opts.all) throw new CliError('usage', 'give exactly one of NODE or --all');
      if (!opts.reason.trim() || opts.reason.length > 500) throw new CliError('usage', '--reason must be 1 to 500 characters');
      const { openInventoryStore } = await import('../src/store/inventory.js');
      const { getNode } = await import('../src/inventory/inventory.js');
      const { ensureDir } = await import('./files.js');
      const { recordAudit } = await import('./audit.js');
      const state = stateDir(ctx, opts.state);
      await ensureDir(state);
      const inv = await openInventoryStore(state);
      const now = ctx.io.now();
      const at = now.toISOString();
      const changed = await inv.update(async (d) => {
        const nodes = opts.all ? d.nodes : [getNode(d, name!)];
        if (nodes.length === 0) throw new CliError('not-found', 'the inventory has no nodes');
        for (const n of nodes) n.renewAfter = at;
        // Recorded before the inventory is written: if the audit log refuses, nothing changes.
        await recordAudit(state, nodes.map((n) => ({ type: 'node.renew-now' as const, subject: n.name, node: n.name, details: { renewAfter: at, reason: opts.reason, all: Boolean(opts.all) }, time: now })));
        return nodes.map((n) => n.name);
      });
      emit(ctx.io, opts, { renewAfter: at, nodes: changed, reason: opts.reason }, (r) =>
        `renewal window moved to ${r.renewAfter} for ${r.nodes.join(', ')}: their ACME clients renew at their next ARI check (Caddy polls renewalInfo every few hours)`,
      );
    });
};
