// `nixca node …`: the fleet inventory (nodes, the DNS names each owns, EAB credentials).
import type { Command } from 'commander';
import { collect, STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';
import { ADMIN_SOCKET_OPTION_HELP } from './ops.js';
import { addStoreOptions, storeSelection, type StoreFlags } from './store-option.js';
import type { EabCredential } from '../src/inventory/model.js';
import type { EabData, PublicNode as NodeView } from '../src/ops/nodes.js';


function parsePriority(v: string): number {
  if (!/^\d+$/.test(v)) throw new CliError('usage', `--priority must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function nodeText(n: NodeView): string {
  return [
    `node ${n.name}`,
    `  dns names:    ${n.dnsNames.join(', ') || '-'}`,
    `  dns suffixes: ${n.dnsSuffixes.map((s) => '*.' + s).join(', ') || '-'}`,
    `  site:         ${n.site ?? '-'}`,
    `  priority:     ${n.priority}`,
    `  eab key id:   ${n.eabKeyId ?? '(none yet: nixca node eab ' + n.name + ' --out FILE)'}`,
  ].join('\n');
}

/** The EAB env file Caddy reads through systemd's EnvironmentFile ({$NIXCA_EAB_KEY_ID}, {$NIXCA_EAB_MAC_KEY}). */
export function eabEnvFile(eab: EabCredential): string {
  return `NIXCA_EAB_KEY_ID=${eab.keyId}\nNIXCA_EAB_MAC_KEY=${eab.macKey}\n`;
}

/** The inventory of --store (shared database) or of --state (inventory.json). */
async function store(ctx: CliContext, flags: StoreFlags) {
  const { openSelectedInventory } = await import('../src/store/open.js');
  const { requireStateDir } = await import('./state-dir.js');
  const sel = storeSelection(ctx, flags);
  // Only `issuer init` and `serve --dev` make a state directory; a mistyped --state is an error.
  if (sel.url === undefined) await requireStateDir(sel.state);
  return openSelectedInventory(sel);
}

export const registerNode: RegisterGroup = (program: Command, ctx: CliContext) => {
  const node = program.command('node').description('fleet inventory: cache nodes, the DNS names each owns, EAB credentials');

  node
    .command('add')
    .description('add a node and the DNS names it owns')
    .argument('<node>', 'node name (one DNS label, e.g. nuc-1)')
    .option('--dns <name>', 'a DNS name the node owns (repeatable)', collect)
    .option('--dns-suffix <suffix>', 'the node owns every name under this suffix (repeatable)', collect)
    .option('--site <site>', 'site label (e.g. office, cloud)')
    .option('--priority <n>', 'substituter priority, lower is preferred', parsePriority)
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .action(async (name: string, opts: { dns?: string[]; dnsSuffix?: string[]; site?: string; priority?: number; state?: string; adminSocket?: string; json?: boolean }) => {
      const { runOperation, printResult } = await import('./ops.js');
      const r = await runOperation(ctx, opts, { op: 'node.add', node: { name, dnsNames: opts.dns, dnsSuffixes: opts.dnsSuffix, site: opts.site, priority: opts.priority } });
      printResult(ctx, opts.json, { ...r, summary: `added ${nodeText(r.data as NodeView)}` });
    });

  node
    .command('update')
    .description("change a node's site or substituter priority (its names stay: remove and add it to change them)")
    .argument('<node>')
    .option('--site <site>', "site label; '' clears it")
    .option('--priority <n>', 'substituter priority, lower is preferred', parsePriority)
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { site?: string; priority?: number; state?: string; adminSocket?: string; json?: boolean }) => {
      const { runOperation, printResult } = await import('./ops.js');
      const site = opts.site === undefined ? {} : { site: opts.site === '' ? null : opts.site };
      printResult(ctx, opts.json, await runOperation(ctx, opts, { op: 'node.update', name, ...site, ...(opts.priority !== undefined ? { priority: opts.priority } : {}) }));
    });

  node
    .command('list')
    .description('list the nodes')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { state?: string; json?: boolean }) => {
      const { publicNodeView } = await import('../src/ops/nodes.js');
      const inv = await store(ctx, opts);
      const nodes = (await inv.read()).nodes.map(publicNodeView);
      emit(ctx.io, opts, nodes, (ns) =>
        ns.length === 0 ? 'no nodes (add one with: nixca node add NODE --dns NAME)' : ns.map((n) => `${n.name}\t${[...n.dnsNames, ...n.dnsSuffixes.map((s) => '*.' + s)].join(' ')}`).join('\n'),
      );
    });

  node
    .command('show')
    .description('show one node')
    .argument('<node>')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { state?: string; json?: boolean }) => {
      const { getNode } = await import('../src/inventory/inventory.js');
      const { publicNodeView } = await import('../src/ops/nodes.js');
      const inv = await store(ctx, opts);
      emit(ctx.io, opts, publicNodeView(getNode(await inv.read(), name)), nodeText);
    });

  addStoreOptions(node
    .command('remove'))
    .description('remove a node and deactivate its ACME accounts (its certificates stay in the store for audit and revocation)')
    .argument('<node>')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: StoreFlags & { adminSocket?: string; json?: boolean }) => {
      const { runOperation, printResult } = await import('./ops.js');
      printResult(ctx, opts.json, await runOperation(ctx, opts, { op: 'node.remove', name }));
    });

  addStoreOptions(node
    .command('eab'))
    .description("write the node's External Account Binding credential as an env file for Caddy (mode 0600)")
    .argument('<node>')
    .requiredOption('--out <file>', "env file to write (NIXCA_EAB_KEY_ID, NIXCA_EAB_MAC_KEY); '-' for stdout")
    .option('--rotate', 'replace the credential (accounts made with earlier ones keep working unless --deactivate-accounts)')
    .option('--deactivate-accounts', 'with --rotate: deactivate the accounts bound with any earlier credential of the node (their clients must register again with the new one)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .option('--json', 'print JSON (without the MAC key)')
    .action(async (name: string, opts: StoreFlags & { out: string; rotate?: boolean; deactivateAccounts?: boolean; adminSocket?: string; json?: boolean }) => {
      if (opts.deactivateAccounts && !opts.rotate) throw new CliError('usage', '--deactivate-accounts goes with --rotate');
      const { writeFileAtomic } = await import('./files.js');
      const { runOperation, printResult } = await import('./ops.js');
      const r = await runOperation(ctx, opts, { op: 'node.eab', name, rotate: Boolean(opts.rotate), deactivateAccounts: Boolean(opts.deactivateAccounts) });
      const d = r.data as EabData;
      const envFile = eabEnvFile(d.credential);
      if (opts.out === '-') ctx.io.out(envFile);
      else await writeFileAtomic(opts.out, envFile, 0o600);
      // The MAC key goes only into the env file, never into JSON or text output.
      const { credential: _secret, ...pub } = d;
      if (opts.out !== '-' || opts.json) {
        printResult(ctx, opts.json, { ...r, summary: `${r.summary}; wrote ${opts.out} (mode 0600)` }, { ...pub, keyId: d.credential.keyId, out: opts.out });
      } else for (const w of r.warnings) ctx.io.err(`warning: ${w}`);
    });
  // Every node command works on the shared inventory with --store (docs/postgres.md).
  for (const c of node.commands) if (!c.options.some((o) => o.long === '--store')) addStoreOptions(c);
};
