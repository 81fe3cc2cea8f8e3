// How the CLI runs an operation of src/ops: through the running issuer's admin socket when one
// answers (the issuer owns the store: it applies, audits, republishes its CRL), else directly on
// the store, as the one process writing it. docs/operations.md "Operating a running issuer".
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { storeSelection, type StoreFlags } from './store-option.js';
import type { AcmeStore } from '../src/acme/store.js';
import type { ConstrainingCa, RefusedName } from '../src/ca/constraints.js';
import type { InventoryStore } from '../src/store/inventory.js';
import type { Operation, OpResult, OpsDeps } from '../src/ops/types.js';
import type { AriPollData } from '../src/status/ari-polls.js';
import type { AuditEvent } from '../src/audit/entry.js';

export const ADMIN_SOCKET_OPTION_HELP = "the running issuer's admin socket (default: $NIXCA_ADMIN_SOCKET or STATE/admin.sock)";

/** The same rule as `nixca serve` (src/ops/socket-path.ts): --admin-socket, $NIXCA_ADMIN_SOCKET, STATE/admin.sock. */
export async function adminSocketPath(ctx: CliContext, state: string, flag: string | undefined): Promise<string> {
  const { adminSocketPathOf } = await import('../src/ops/socket-path.js');
  return adminSocketPathOf({ configured: flag, env: ctx.io.env.NIXCA_ADMIN_SOCKET, state, cwd: ctx.io.cwd });
}

/** The wiring of OpsDeps shared by the issuer (in-process) and the CLI (direct on the store). */
export async function opsDeps(o: {
  state: string;
  store: AcmeStore | null;
  inventory: InventoryStore;
  now: () => Date;
  appliedBy: OpsDeps['appliedBy'];
  ariPolls: () => Promise<AriPollData> | AriPollData;
  afterRevocation?: () => Promise<void>;
  /** Where entries go instead of STATE/audit (the shared store's chain). */
  audit?: (events: AuditEvent[]) => Promise<unknown>;
}): Promise<OpsDeps> {
  const { appendAudit } = await import('../src/audit/log.js');
  const shared = o.audit;
  return {
    store: o.store,
    inventory: o.inventory,
    audit: async (events) => void (shared ? await shared(events) : await appendAudit(o.state, events)),
    now: o.now,
    appliedBy: o.appliedBy,
    ...(o.afterRevocation ? { afterRevocation: o.afterRevocation } : {}),
    refusedNames: async (names) => (await installedNameConstraints(o.state))(names),
    async ariNeverPolled(nodes) {
      const polls = await o.ariPolls();
      const counts = new Map<string, number>();
      if (o.store) for (const c of await o.store.listCertificates()) if (c.node) counts.set(c.node, (counts.get(c.node) ?? 0) + 1);
      return nodes.filter((n) => !polls.nodes[n] && (counts.get(n) ?? 0) > 0);
    },
  };
}

/**
 * The name-constraint check of the installed issuer (intermediate and root, read now: `issuer
 * install` may have run since), or one that refuses nothing before an issuer is installed.
 */
export async function installedNameConstraints(state: string): Promise<(names: readonly string[]) => RefusedName[]> {
  const { join } = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const { ISSUER_DIR, ISSUER_FILES } = await import('../src/ceremony/issuer-dir.js');
  const { namesOutsideConstraints } = await import('../src/ca/constraints.js');
  const { x509 } = await import('../src/ca/x509.js');
  const cas: ConstrainingCa[] = [];
  for (const [label, file] of [['the intermediate', ISSUER_FILES.cert], ['the root', ISSUER_FILES.root]] as const) {
    const path = join(state, ISSUER_DIR, file);
    const pem = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new CliError('io', `cannot read ${path}: ${err.message}`);
    });
    if (pem === undefined) continue;
    try {
      cas.push({ label, certificate: new x509.X509Certificate(pem) });
    } catch {
      throw new CliError('input', `${path} is not a PEM certificate`);
    }
  }
  return (names) => namesOutsideConstraints(names, cas);
}

/** The refusal (exit 6) of a user the admin socket and the state directory are closed to. */
function denied(path: string): CliError {
  const uid = process.getuid?.();
  return new CliError('auth', `permission denied: only root and the issuer's own user may operate nixca (admin socket ${path}, state directory); running as uid ${uid ?? '?'}`);
}

/** Runs `op` through the running issuer if there is one, else directly on the store. */
export async function runOperation(ctx: CliContext, opts: StoreFlags & { adminSocket?: string }, op: Operation): Promise<OpResult> {
  const sel = storeSelection(ctx, opts);
  const state = sel.state;
  const path = await adminSocketPath(ctx, state, opts.adminSocket);
  // A shared store has many writers: the operation goes to the database, every issuer follows it.
  if (sel.url !== undefined) return runDirect(ctx, sel, op, path);
  const { sendOperation } = await import('../src/ops/admin-client.js');
  const sent = await sendOperation(path, op);
  if (!('unreachable' in sent)) return sent;
  if (sent.unreachable === 'denied') throw denied(path);
  return runDirect(ctx, sel, op, path);
}

/** Operations that change only the inventory (its own lock): possible beside an issuer that does not answer. */
const INVENTORY_ONLY: ReadonlySet<Operation['op']> = new Set(['node.add', 'node.update', 'renew-now', 'key.add', 'key.rotate', 'key.revoke']);

async function runDirect(ctx: CliContext, sel: ReturnType<typeof storeSelection>, op: Operation, socketPath: string): Promise<OpResult> {
  const state = sel.state;
  const { join } = await import('node:path');
  const { exists } = await import('./files.js');
  // An existing state directory this user may not write: refused as a whole, before anything.
  if (await exists(state)) await (await import('./state-dir.js')).requireStateAccess(state, true);
  else if (sel.url === undefined) await (await import('./state-dir.js')).requireStateDir(state); // never a new empty state
  else throw new CliError('not-found', `no nixca state directory at ${state}: with --store, a change is signed into the shared audit chain with the audit key of an issuer's --state; give the --state of this host's nixca serve`, 'CLI_NO_STATE');
  const { ACME_DIR } = await import('../src/store/acme.js');
  const { openSelectedStore, openSelectedInventory, readSelectedAriPolls } = await import('../src/store/open.js');
  const { applyOperation } = await import('../src/ops/operations.js');
  const shared = sel.url !== undefined;
  // Signing keys live in the inventory alone: their operations never use the ACME store (on the
  // shared store it is opened anyway: the audit chain is in the same database).
  const keysOnly = op.op.startsWith('key.');
  const opened = shared || (!keysOnly && (await exists(join(state, ACME_DIR)))) ? await openSelectedStore(sel) : null;
  const store = keysOnly ? null : (opened?.acme ?? null);
  try {
    // On the shared store, entries join the shared chain (in the transaction of an inventory change).
    const { sharedAuditChain } = await import('./audit-store.js');
    const signer = opened?.sharedAudit ? await sharedAuditChain(state, opened.sharedAudit) : undefined;
    const chain = signer?.chain;
    if (store?.readOnly && !INVENTORY_ONLY.has(op.op)) {
      throw new CliError('conflict', `a running nixca serve holds the ACME store, but its admin socket ${socketPath} does not answer: is it an older issuer, or started with another --admin-socket? (give that path with --admin-socket)`);
    }
    const deps = await opsDeps({ state, store, inventory: opened?.inventory ?? (await openSelectedInventory(sel)), now: () => ctx.io.now(), appliedBy: shared ? 'shared-store' : 'store', ariPolls: () => (opened ? opened.readAriPolls() : readSelectedAriPolls(sel)), ...(chain ? { audit: (e: AuditEvent[]) => sharedAppend(chain, e) } : {}) });
    const r = await applyOperation(deps, op);
    return signer && !signer.certified ? { ...r, warnings: [...r.warnings, uncertifiedWarning(state)] } : r;
  } finally {
    await opened?.acme.close();
  }
}

/**
 * When the audit key of `state` has no certificate from an issuer: `audit verify --store` reports
 * its entries as uncertified until nixca serve runs with this --state (it certifies the key at
 * start and registers the certificate with the chain).
 */
function uncertifiedWarning(state: string): string {
  return `the audit key in ${state} has no certificate from an issuer yet: \`nixca audit verify --store\` reports this entry as uncertified until nixca serve runs with this --state (it certifies the key at start) or, once the issuer is installed, \`nixca audit certify --store\` does; run changes on an issuer host with its --state`;
}

/**
 * An append to the shared chain; a database error (no `kind` of its own) becomes an io error (exit
 * 7) naming the chain. The append runs inside the change's transaction, which it rolls back.
 */
async function sharedAppend(chain: { append(e: AuditEvent[]): Promise<unknown> }, events: AuditEvent[]): Promise<unknown> {
  try {
    return await chain.append(events);
  } catch (err) {
    if (typeof (err as { kind?: unknown }).kind === 'string') throw err;
    throw new CliError('io', `the shared audit chain refused the entry: ${(err as Error).message}`);
  }
}

/**
 * Prints an OpResult: --json gives its data with `appliedBy` and `warnings` beside the fields (so a
 * command's JSON keeps its shape whichever way it ran); text gives the summary. Warnings go to stderr.
 */
export function printResult(ctx: CliContext, json: boolean | undefined, r: OpResult, data: object = r.data as object): void {
  if (json) ctx.io.out(JSON.stringify({ ...data, appliedBy: r.appliedBy, warnings: r.warnings }, null, 2));
  else ctx.io.out(r.summary);
  for (const w of r.warnings) ctx.io.err(`warning: ${w}`);
}
