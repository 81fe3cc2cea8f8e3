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
import { existingStateDir } from './state-dir.js';
import { addStoreOptions, readSelectedInventory as readInventory, storeSelection, type StoreFlags } from './store-option.js';

/** A commander parser for the one duration grammar (src/config/duration.ts); 0s is allowed ("no wait"). */
export function durationFlag(flag: string) {
  return (v: string): number => parseDuration(flag, v, { allowZero: true });
}

export const DEFAULT_MIN_PREPUBLISH = '24h';
export const DEFAULT_MIN_OVERLAP = '24h';

/** The inventory of --store (shared database) or of --state (inventory.json), audited. */
async function store(ctx: CliContext, flags: StoreFlags) {
  const { openSelectedInventory } = await import('../src/store/open.js');
  // Every key transition (generate, import, rotate, revoke) goes to the audit log, written
  // before the inventory is; if the log refuses, the transition is not made.
  const { auditedInventory } = await import('../src/audit/signing-keys.js');
  const dir = await existingStateDir(ctx, flags.state);
  return auditedInventory(await openSelectedInventory({ ...storeSelection(ctx, flags), state: dir }), dir);
}

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
 * Creates a `next` key for a scope inside an inventory update: generated (secret written 0600 to
 * --secret-out, never printed) or imported (--public). The secret file is written inside the
 * locked update, before the inventory, and removed again if the inventory write fails.
 */
async function createNextKey(ctx: CliContext, flags: StoreFlags, scope: string | null, opts: NewKeyOptions, mode: 'generate' | 'import') {
  const { activateFirstKey, addKey, checkFirstKey, defaultHost, nextKeyName, defaultSecretKeyPath, DEFAULT_SECRET_DIR } = await import('../src/signing/rotation.js');
  const { checkKeyName, generateKeyPair, parsePublicKey } = await import('../src/signing/keys.js');
  const { writeNewFile, exists } = await import('./files.js');
  const { unlink } = await import('node:fs/promises');
  const { resolve } = await import('node:path');
  if (opts.secretKeyPath && !opts.secretKeyPath.startsWith('/')) {
    throw new CliError('usage', `--secret-key-path must be an absolute runtime path on the node (e.g. ${DEFAULT_SECRET_DIR}/nix-signing-NAME), got ${JSON.stringify(opts.secretKeyPath)}`);
  }
  if (opts.secretKeyPath?.startsWith('/nix/store')) {
    throw new CliError('policy', '--secret-key-path must not be in the Nix store: the store is world-readable');
  }
  const secretOut = opts.secretOut ? resolve(ctx.io.cwd, opts.secretOut) : undefined;
  if (mode === 'generate') {
    if (!secretOut) throw new CliError('usage', '--secret-out PATH is required: the secret key is written there (mode 0600), never printed');
    if (await exists(secretOut)) throw new CliError('conflict', `${secretOut} already exists; refusing to overwrite it`);
  }
  const inv = await store(ctx, flags);
  let wrote = false;
  try {
    return await inv.update(async (data) => {
      if (opts.activate) checkFirstKey(data, scope);
      let publicKey: string;
      let secret: string | undefined;
      if (mode === 'import') {
        publicKey = opts.public!.trim();
      } else {
        let name: string;
        if (opts.name) name = checkKeyName(opts.name);
        else if (opts.host) name = nextKeyName(data, opts.host);
        else if (scope !== null) name = nextKeyName(data, defaultHost(data, scope));
        else throw new CliError('usage', 'a shared key needs --name NAME (e.g. cache.n3x.example.com-1) or --host HOST');
        const kp = generateKeyPair(name);
        publicKey = kp.publicKey;
        secret = kp.secretKey;
      }
      const keyName = parsePublicKey(publicKey).name;
      const rec = addKey(
        data,
        {
          publicKey,
          scope,
          secretKeyPath: opts.secretKeyPath ?? defaultSecretKeyPath(keyName, opts.secretKeyDir),
          origin: mode === 'import' ? 'imported' : 'generated',
          reason: opts.reason ?? (mode === 'import' ? 'imported' : 'generated'),
        },
        ctx.io.now(),
      );
      if (opts.activate) activateFirstKey(data, scope, rec.name, ctx.io.now(), opts.reason);
      if (secret !== undefined) {
        // Nix writes key files without a trailing newline (nix-store --generate-binary-cache-key).
        await writeNewFile(secretOut!, secret, 0o600);
        wrote = true;
      }
      return { key: rec, secretOut: secret !== undefined ? secretOut! : null };
    });
  } catch (err) {
    if (wrote) await unlink(secretOut!).catch(() => undefined);
    throw err;
  }
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
    .action(async (node: string | undefined, opts: NewKeyOptions & { state?: string; json?: boolean }) => {
      const r = await createNextKey(ctx, opts, scopeOf(node, opts.shared), opts, 'generate');
      emit(ctx.io, opts, { key: keyView(r.key), secretOut: r.secretOut }, () => createdText(r));
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
    .action(async (node: string | undefined, opts: NewKeyOptions & { state?: string; json?: boolean }) => {
      const r = await createNextKey(ctx, opts, scopeOf(node, opts.shared), opts, 'import');
      emit(ctx.io, opts, { key: keyView(r.key), secretOut: null }, () => createdText(r));
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
        opts: NewKeyOptions & { minPrepublish: number; minOverlap: number; overlap?: boolean; force?: boolean; state?: string; json?: boolean },
      ) => {
        const scope = scopeOf(node, opts.shared);
        if (opts.secretOut && opts.public) throw new CliError('usage', 'give --secret-out (generate) or --public (import), not both');
        const { planRotation, applyRotation, scopeKeys } = await import('../src/signing/rotation.js');
        const inv = await store(ctx, opts);
        const plan = planRotation(await inv.read(), scope);
        const label = scope ?? '--shared';
        if (plan.action === 'create-next') {
          if (!opts.secretOut && !opts.public) {
            throw new CliError(
              'usage',
              `${scope === null ? 'the shared key' : `node ${scope}`} has no next key: generate one with \`nixca key rotate ${label} --secret-out FILE\`, or generate it on the node (nix key generate-secret --key-name NAME) and import the public half with \`nixca key rotate ${label} --public NAME:BASE64\``,
            );
          }
          const r = await createNextKey(ctx, opts, scope, opts, opts.public ? 'import' : 'generate');
          emit(ctx.io, opts, { action: 'create-next', key: keyView(r.key), secretOut: r.secretOut }, () => createdText(r));
          return;
        }
        // Re-plan inside the lock: another process may have moved the state since the read.
        const done = await inv.update((data) => {
          const step = planRotation(data, scope);
          if (step.action === 'create-next') throw new CliError('conflict', 'the key states changed while rotating; run the command again');
          const applied = applyRotation(data, step, { minPrepublishMs: opts.minPrepublish, minOverlapMs: opts.minOverlap, overlapSigning: Boolean(opts.overlap), force: Boolean(opts.force), reason: opts.reason }, ctx.io.now());
          return { applied, keys: scopeKeys(data, scope).map(keyView) };
        });
        const a = done.applied;
        emit(ctx.io, opts, { ...a, keys: done.keys }, () => {
          const forced = 'forced' in a && a.forced ? ' (forced past the policy)' : '';
          if (a.action === 'promote') {
            const later = a.demoted ? `; later \`nixca key rotate ${label}\` retires ${a.demoted}` : '';
            return `promoted ${a.promoted} to active${a.demoted ? `; ${a.demoted} is retiring${opts.overlap ? ' and still signs' : ''}` : ''}${forced}\n  next: deploy the NixOS output${later}`;
          }
          if (a.action === 'retire') return `retired ${a.retired}: no longer trusted by clients${forced}\n  next: deploy the NixOS output`;
          return '';
        });
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
    .action(async (name: string, opts: { reason: string; force?: boolean; state?: string; json?: boolean }) => {
      const { revokeKey } = await import('../src/signing/rotation.js');
      const inv = await store(ctx, opts);
      const r = await inv.update((data) => revokeKey(data, name, opts.reason, ctx.io.now(), Boolean(opts.force)));
      if (r.warning) ctx.io.err(`nixca: warning: ${r.warning}`);
      emit(ctx.io, opts, { key: keyView(r.key), previousState: r.previousState, forced: r.forced, warning: r.warning }, (v) =>
        `revoked ${v.key.name} (was ${v.previousState}); deploy the NixOS output now so clients stop trusting it`,
      );
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

  registerNarinfoCommands(key, ctx);
  // Every command that reads or changes the inventory works on the shared one with --store.
  for (const c of key.commands) if (c.options.some((o) => o.long === '--state')) addStoreOptions(c);
};
