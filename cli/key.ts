// `nixca key …`: Nix binary-cache signing keys (docs/signing.md): generate or import, the
// rotation state machine next → active → retiring → retired (+ revoked), status as the NixOS
// output will carry it, and signing / verifying narinfo files.
import type { Command } from 'commander';
import { STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { parseDuration } from '../src/config/duration.js';
import { emit } from './io.js';
import { createdText, keyView, statusOf, statusText } from './key-render.js';
import { registerNarinfoCommands } from './key-narinfo.js';
import { requireStateDir } from './state-dir.js';
import { ADMIN_SOCKET_OPTION_HELP } from './ops.js';
import { addStoreOptions, readSelectedInventory as readInventory, storeSelection, type StoreFlags } from './store-option.js';
import type { KeyAddData, KeyOperation, KeyRevokeData, KeyRotateData } from '../src/ops/keys.js';

/** A commander parser for the one duration grammar (src/config/duration.ts); 0s is allowed ("no wait"). */
export function durationFlag(flag: string) {
  return (v: string): number => parseDuration(flag, v, { allowZero: true });
}

export const DEFAULT_MIN_PREPUBLISH = '24h';
export const DEFAULT_MIN_OVERLAP = '24h';

/** What the key commands that change state take: where the state is, and how to reach the issuer. */
type KeyFlags = StoreFlags & { adminSocket?: string; json?: boolean };

/**
 * Runs a key operation (src/ops/keys.ts): through the running issuer's admin socket when one
 * answers, so its status, dashboard and emitted trust see the change at once, else on the
 * inventory directly. Either way it is audited before the inventory is written.
 */
async function runKeyOp(ctx: CliContext, opts: KeyFlags, op: KeyOperation) {
  const { runOperation } = await import('./ops.js');
  return runOperation(ctx, opts, op);
}

/** The state must exist and be readable by this user (exit 4 / exit 6) before anything is made. */
async function keyState(ctx: CliContext, opts: KeyFlags): Promise<void> {
  const sel = storeSelection(ctx, opts);
  if (sel.url !== undefined) return;
  const { requireStateAccess } = await import('./state-dir.js');
  // Access first: a directory this user may not even look at is "permission denied" (exit 6).
  await requireStateAccess(sel.state, false);
  await requireStateDir(sel.state);
}

const readKeys = (ctx: CliContext, opts: KeyFlags) => readInventory(ctx, opts);

/** NODE argument xor --shared → the scope (node name, or null for the fleet-wide key). */
function scopeOf(node: string | undefined, shared: boolean | undefined): string | null {
  if (node && shared) throw new CliError('usage', 'give either a NODE or --shared, not both');
  if (!node && !shared) throw new CliError('usage', 'give a NODE, or --shared for the fleet-wide key');
  return node ?? null;
}


interface NewKeyOptions {
  shared?: boolean;
  host?: string;
  name?: string;
  secretOut?: string;
  public?: string;
  secretKeyPath?: string;
  secretKeyDir?: string;
  reason?: string;
  /** A first key goes straight to active (refused when the scope already publishes a key). */
  activate?: boolean;
}

/**
 * Creates a `next` key for a scope: imported (--public), or generated here, in the operator's
 * process. Only the public half goes to the operation (and over the admin socket); the secret is
 * written 0600 to --secret-out first, and removed again if the operation is refused. A crash in
 * between leaves an unpublished secret file, never a published key whose secret is lost.
 */
async function createNextKey(ctx: CliContext, opts: KeyFlags & NewKeyOptions, scope: string | null, mode: 'generate' | 'import') {
  const { defaultHost, nextKeyName, defaultSecretKeyPath } = await import('../src/signing/rotation.js');
  const { checkKeyName, generateKeyPair, parsePublicKey } = await import('../src/signing/keys.js');
  const { checkSecretKeyPath } = await import('../src/ops/keys.js');
  const { writeNewFile, exists } = await import('./files.js');
  const { resolve } = await import('node:path');
  if (opts.secretKeyPath) checkSecretKeyPath(opts.secretKeyPath);
  await keyState(ctx, opts);
  let publicKey = opts.public?.trim() ?? '';
  let secret: { text: string; out: string } | undefined;
  if (mode === 'generate') {
    if (!opts.secretOut) throw new CliError('usage', '--secret-out PATH is required: the secret key is written there (mode 0600), never printed');
    const out = resolve(ctx.io.cwd, opts.secretOut);
    if (await exists(out)) throw new CliError('conflict', `${out} already exists; refusing to overwrite it`);
    let name: string;
    if (opts.name) name = checkKeyName(opts.name);
    else if (opts.host) name = nextKeyName(await readKeys(ctx, opts), opts.host);
    else if (scope !== null) {
      const data = await readKeys(ctx, opts);
      name = nextKeyName(data, defaultHost(data, scope));
    }
    else throw new CliError('usage', 'a shared key needs --name NAME (e.g. cache.n3x.example.com-1) or --host HOST');
    const kp = generateKeyPair(name);
    publicKey = kp.publicKey;
    secret = { text: kp.secretKey, out };
  }
  const keyName = parsePublicKey(publicKey).name;
  const op: KeyOperation = {
    op: 'key.add',
    scope,
    publicKey,
    secretKeyPath: opts.secretKeyPath ?? defaultSecretKeyPath(keyName, opts.secretKeyDir),
    origin: mode === 'import' ? 'imported' : 'generated',
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    ...(opts.activate ? { activate: true } : {}),
  };
  if (!secret) return { result: await runKeyOp(ctx, opts, op), secretOut: null };
  // Nix writes key files without a trailing newline (nix-store --generate-binary-cache-key).
  await writeNewFile(secret.out, secret.text, 0o600);
  try {
    return { result: await runKeyOp(ctx, opts, op), secretOut: secret.out };
  } catch (err) {
    const { unlink } = await import('node:fs/promises');
    await unlink(secret.out).catch(() => undefined);
    throw err;
  }
}

/** Prints a created key: the text names where the secret went; --json as before plus appliedBy/warnings. */
async function printCreated(ctx: CliContext, opts: KeyFlags, c: Awaited<ReturnType<typeof createNextKey>>, extra: object = {}) {
  const { printResult } = await import('./ops.js');
  const { key } = c.result.data as KeyAddData;
  printResult(ctx, opts.json, { ...c.result, summary: createdText({ key, secretOut: c.secretOut }) }, { ...extra, key: keyView(key), secretOut: c.secretOut });
}

export const registerKey: RegisterGroup = (program: Command, ctx: CliContext) => {
  const key = program.command('key').description('Nix binary-cache signing keys: generate, import, rotate, revoke, status; sign and verify narinfo files');

  key
    .command('generate')
    .description('generate a signing key (state next) for a node or the fleet; the secret goes to --secret-out (0600), never stdout')
    .argument('[node]', 'node that will sign with it (omit with --shared)')
    .option('--shared', 'a fleet-wide key used by every node (node = none)')
    .requiredOption('--secret-out <path>', 'file to create for the secret key (mode 0600, no trailing newline)')
    .option('--host <host>', "key name prefix: the name is <host>-<n> (default: the node's first DNS name)")
    .option('--name <name>', 'exact key name (must be new to the fleet)')
    .option('--secret-key-path <path>', 'runtime path where Harmonia on the node reads the secret (default /run/agenix/nix-signing-<name>)')
    .option('--secret-key-dir <dir>', 'directory for the default runtime path (default /run/agenix)')
    .option('--activate', 'a first key: make it active at once (only when the node, or --shared, publishes no key yet; else use key rotate)')
    .option('--reason <text>', 'recorded in the key history')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (node: string | undefined, opts: NewKeyOptions & KeyFlags) => {
      await printCreated(ctx, opts, await createNextKey(ctx, opts, scopeOf(node, opts.shared), 'generate'));
    });

  key
    .command('import')
    .description('import a public key generated on the node (nix key generate-secret), so the secret never leaves it')
    .argument('[node]', 'node that holds the secret (omit with --shared)')
    .option('--shared', 'a fleet-wide key')
    .requiredOption('--public <key>', 'public key "name:base64" (nix key convert-secret-to-public)')
    .option('--secret-key-path <path>', 'runtime path of the secret on the node (default /run/agenix/nix-signing-<name>)')
    .option('--secret-key-dir <dir>', 'directory for the default runtime path (default /run/agenix)')
    .option('--activate', 'a first key: make it active at once (only when the node, or --shared, publishes no key yet; else use key rotate)')
    .option('--reason <text>', 'recorded in the key history')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (node: string | undefined, opts: NewKeyOptions & KeyFlags) => {
      await printCreated(ctx, opts, await createNextKey(ctx, opts, scopeOf(node, opts.shared), 'import'));
    });

  key
    .command('rotate')
    .description('take the next safe rotation step: retire a retiring key, else promote the next key, else create a next key')
    .argument('[node]', 'node (omit with --shared)')
    .option('--shared', 'rotate the fleet-wide key')
    .option('--secret-out <path>', 'when a next key must be created: generate it and write the secret here (0600)')
    .option('--public <key>', 'when a next key must be created: import this public key instead')
    .option('--host <host>', 'key name prefix for a generated key')
    .option('--name <name>', 'exact name for a generated key')
    .option('--secret-key-path <path>', 'runtime path of the new key on the node')
    .option('--secret-key-dir <dir>', 'directory for the default runtime path (default /run/agenix)')
    .option('--min-prepublish <duration>', 'a next key must have been published this long before it may replace the active key', durationFlag('--min-prepublish'), durationFlag('--min-prepublish')(DEFAULT_MIN_PREPUBLISH))
    .option('--min-overlap <duration>', 'a retiring key stays trusted this long after it stopped being active', durationFlag('--min-overlap'), durationFlag('--min-overlap')(DEFAULT_MIN_OVERLAP))
    .option('--overlap', 'when promoting: the old key keeps signing while retiring (for clients that missed the new key)')
    .option('--force', 'take the step even if the policy refuses it (the reason is recorded)')
    .option('--reason <text>', 'recorded in the key history')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(
      async (
        node: string | undefined,
        opts: NewKeyOptions & KeyFlags & { minPrepublish: number; minOverlap: number; overlap?: boolean; force?: boolean },
      ) => {
        const scope = scopeOf(node, opts.shared);
        if (opts.secretOut && opts.public) throw new CliError('usage', 'give --secret-out (generate) or --public (import), not both');
        const { planRotation } = await import('../src/signing/rotation.js');
        await keyState(ctx, opts);
        const label = scope ?? '--shared';
        if (planRotation(await readKeys(ctx, opts), scope).action === 'create-next') {
          if (!opts.secretOut && !opts.public) {
            throw new CliError(
              'usage',
              `${scope === null ? 'the shared key' : `node ${scope}`} has no next key: generate one with \`nixca key rotate ${label} --secret-out FILE\`, or generate it on the node (nix key generate-secret --key-name NAME) and import the public half with \`nixca key rotate ${label} --public NAME:BASE64\``,
            );
          }
          await printCreated(ctx, opts, await createNextKey(ctx, opts, scope, opts.public ? 'import' : 'generate'), { action: 'create-next' });
          return;
        }
        // The operation plans again inside the inventory lock (another operator may have moved on).
        const r = await runKeyOp(ctx, opts, {
          op: 'key.rotate', scope, minPrepublishMs: opts.minPrepublish, minOverlapMs: opts.minOverlap, overlap: Boolean(opts.overlap), force: Boolean(opts.force),
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        const { printResult } = await import('./ops.js');
        const d = r.data as KeyRotateData;
        printResult(ctx, opts.json, r, { ...d.step, keys: d.keys.map(keyView) });
      },
    );

  key
    .command('revoke')
    .description('emergency: remove a key from trust at once; its name and public key are refused forever')
    .argument('<keyname>', 'key name (e.g. cache.nuc-1.n3x.internal-1)')
    .requiredOption('--reason <text>', 'why (recorded in the key history)')
    .option('--force', "revoke even the last active key of a node (its cache then serves narinfos no client accepts until a new key is promoted)")
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: KeyFlags & { reason: string; force?: boolean }) => {
      await keyState(ctx, opts);
      const r = await runKeyOp(ctx, opts, { op: 'key.revoke', name, reason: opts.reason, force: Boolean(opts.force) });
      const { printResult } = await import('./ops.js');
      const d = r.data as KeyRevokeData;
      printResult(ctx, opts.json, r, { ...d, key: keyView(d.key) });
    });

  key
    .command('status')
    .description('per node: keys by state, and exactly the trusted public keys and Harmonia sign-key paths the NixOS output carries')
    .argument('[node]', 'only this node')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (node: string | undefined, opts: { state?: string; json?: boolean }) => {
      const views = await import('../src/inventory/signing-keys.js');
      const { getNode } = await import('../src/inventory/inventory.js');
      const data = await readInventory(ctx, opts);
      if (node) getNode(data, node);
      emit(ctx.io, opts, statusOf(data, node, views), statusText);
    });


  // The commands that change keys reach a running issuer through its admin socket.
  for (const c of key.commands) if (['generate', 'import', 'rotate', 'revoke'].includes(c.name())) c.option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP);

  registerNarinfoCommands(key, ctx);
  // Every command that reads or changes the inventory works on the shared one with --store.
  for (const c of key.commands) if (c.options.some((o) => o.long === '--state')) addStoreOptions(c);
};
