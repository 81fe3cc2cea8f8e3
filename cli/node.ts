// `nixca node …`: the fleet inventory (nodes, the DNS names each owns, EAB credentials).
import type { Command } from 'commander';
import { collect, STATE_OPTION_HELP, stateDir, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';
import type { EabCredential, NodeRecord } from '../src/inventory/model.js';


function parsePriority(v: string): number {
  if (!/^\d+$/.test(v)) throw new CliError('usage', `--priority must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** What `node show/list --json` prints: everything but the EAB MAC key. */
function publicNodeView(n: NodeRecord) {
  return {
    name: n.name,
    dnsNames: n.dnsNames,
    dnsSuffixes: n.dnsSuffixes,
    site: n.site,
    priority: n.priority,
    createdAt: n.createdAt,
    eabKeyId: n.eab?.keyId ?? null,
    renewAfter: n.renewAfter,
  };
}

function nodeText(n: ReturnType<typeof publicNodeView>): string {
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

async function store(ctx: CliContext, state: string | undefined) {
  const { openInventoryStore } = await import('../src/store/inventory.js');
  const { ensureDir } = await import('./files.js');
  const dir = stateDir(ctx, state);
  await ensureDir(dir);
  return openInventoryStore(dir);
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
    .action(async (name: string, opts: { dns?: string[]; dnsSuffix?: string[]; site?: string; priority?: number; state?: string; json?: boolean }) => {
      const { addNode } = await import('../src/inventory/inventory.js');
      const inv = await store(ctx, opts.state);
      const { recordAudit } = await import('./audit.js');
      const state = stateDir(ctx, opts.state);
      const added = await inv.update(async (d) => {
        const n = addNode(d, { name, dnsNames: opts.dns, dnsSuffixes: opts.dnsSuffix, site: opts.site, priority: opts.priority }, ctx.io.now());
        // Audited before the inventory is written: if the audit log refuses, nothing changes.
        await recordAudit(state, { type: 'node.added', subject: n.name, node: n.name, details: { dnsNames: n.dnsNames, dnsSuffixes: n.dnsSuffixes, site: n.site, priority: n.priority } });
        return n;
      });
      emit(ctx.io, opts, publicNodeView(added), (n) => `added ${nodeText(n)}`);
    });

  node
    .command('list')
    .description('list the nodes')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { state?: string; json?: boolean }) => {
      const inv = await store(ctx, opts.state);
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
      const inv = await store(ctx, opts.state);
      emit(ctx.io, opts, publicNodeView(getNode(await inv.read(), name)), nodeText);
    });

  node
    .command('remove')
    .description('remove a node (its certificates stay in the store for audit and revocation)')
    .argument('<node>')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { state?: string; json?: boolean }) => {
      const { removeNode } = await import('../src/inventory/inventory.js');
      const inv = await store(ctx, opts.state);
      const { recordAudit } = await import('./audit.js');
      const state = stateDir(ctx, opts.state);
      const removed = await inv.update(async (d) => {
        const n = removeNode(d, name);
        await recordAudit(state, { type: 'node.removed', subject: n.name, node: n.name, details: { dnsNames: n.dnsNames, dnsSuffixes: n.dnsSuffixes, eabKeyId: n.eab?.keyId ?? null } });
        return n;
      });
      emit(ctx.io, opts, publicNodeView(removed), (n) => `removed node ${n.name}`);
    });

  node
    .command('eab')
    .description("write the node's External Account Binding credential as an env file for Caddy (mode 0600)")
    .argument('<node>')
    .requiredOption('--out <file>', "env file to write (NIXCA_EAB_KEY_ID, NIXCA_EAB_MAC_KEY); '-' for stdout")
    .option('--rotate', 'replace the credential (accounts already bound keep working; new accounts need the new one)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON (without the MAC key)')
    .action(async (name: string, opts: { out: string; rotate?: boolean; state?: string; json?: boolean }) => {
      const { ensureEab } = await import('../src/inventory/inventory.js');
      const { writeFileAtomic } = await import('./files.js');
      const inv = await store(ctx, opts.state);
      const { recordAudit } = await import('./audit.js');
      const state = stateDir(ctx, opts.state);
      const { node: n, created } = await inv.update(async (d) => {
        const previousKeyId = d.nodes.find((x) => x.name === name)?.eab?.keyId ?? null;
        const r = ensureEab(d, name, ctx.io.now(), Boolean(opts.rotate));
        // The key id only: the MAC key is a secret and never enters the log.
        if (r.created) {
          await recordAudit(state, {
            type: previousKeyId ? 'node.eab-rotated' : 'node.eab-created',
            subject: r.node.name,
            node: r.node.name,
            details: { eabKeyId: r.node.eab!.keyId, previousEabKeyId: previousKeyId },
          });
        }
        return r;
      });
      const eab = n.eab!;
      const envFile = eabEnvFile(eab);
      if (opts.out === '-') ctx.io.out(envFile);
      else await writeFileAtomic(opts.out, envFile, 0o600);
      if (opts.out !== '-' || opts.json) {
        emit(ctx.io, opts, { node: n.name, keyId: eab.keyId, created, out: opts.out }, (r) =>
          `${r.created ? 'created' : 'kept'} EAB credential ${r.keyId} for ${r.node}; wrote ${r.out} (mode 0600)`,
        );
      }
    });
};
