// The signing-key state machine over the fleet inventory (docs/signing.md has the runbook):
//
//   next ──promote──▶ active ──(next promoted)──▶ retiring ──retire──▶ retired
//     └──────────────────── revoke (from any state) ────────────────────▶ revoked
//
// next: published to clients (trusted-public-keys), not signing yet. active: signing and
// published. retiring: published, no longer signing (unless overlap signing). retired: gone.
// revoked: gone at once, and its name and public-key bytes are refused forever.
//
// A scope is one node's own keys (node = name) or the fleet-wide shared keys (node = null); each
// scope has at most one next, one active and one retiring key. Pure functions on InventoryData:
// they throw SigningError before changing anything, so a refused step writes nothing.
import { getNode } from '../inventory/inventory.js';
import type { InventoryData, SigningKeyRecord, SigningKeyState } from '../inventory/model.js';
import { enteredStateAt } from '../inventory/signing-keys.js';
import { SigningError } from './errors.js';
import { bytesEqual, checkKeyName, parsePublicKey, type PublicKey } from './keys.js';

export type Scope = string | null;

export function scopeLabel(scope: Scope): string {
  return scope === null ? 'the shared fleet key' : `node ${scope}`;
}

/** Where Harmonia reads the secret unless told otherwise: agenix's default secrets dir. */
export const DEFAULT_SECRET_DIR = '/run/agenix';

export function defaultSecretKeyPath(keyName: string, dir = DEFAULT_SECRET_DIR): string {
  return `${dir.replace(/\/+$/, '')}/nix-signing-${keyName}`;
}

export function scopeKeys(data: InventoryData, scope: Scope): SigningKeyRecord[] {
  return data.signingKeys.filter((k) => k.node === scope);
}

export function keyIn(data: InventoryData, scope: Scope, state: SigningKeyState): SigningKeyRecord | undefined {
  return scopeKeys(data, scope).find((k) => k.state === state);
}

export function findKey(data: InventoryData, name: string): SigningKeyRecord | undefined {
  return data.signingKeys.find((k) => k.name === name);
}

export function getKey(data: InventoryData, name: string): SigningKeyRecord {
  const k = findKey(data, name);
  if (!k) throw new SigningError('SIGNING_KEY_UNKNOWN', `no signing key named ${JSON.stringify(name)} in the inventory`);
  return k;
}

/** The host part of key names for a node: its first DNS name (Nix convention `<host>-<n>`). */
export function defaultHost(data: InventoryData, node: string): string {
  const host = getNode(data, node).dnsNames[0];
  if (!host) throw new SigningError('SIGNING_NO_HOST', `node ${node} has no exact DNS name to name its key after; give --host HOST or --name NAME`);
  return host;
}

/** `<host>-<n>` with n one more than any key ever named `<host>-<m>`, revoked ones included: never reused. */
export function nextKeyName(data: InventoryData, host: string): string {
  let max = 0;
  const prefix = host + '-';
  for (const k of data.signingKeys) {
    if (!k.name.startsWith(prefix)) continue;
    const rest = k.name.slice(prefix.length);
    if (/^[0-9]+$/.test(rest)) max = Math.max(max, Number(rest));
  }
  return checkKeyName(`${host}-${max + 1}`);
}

function transition(k: SigningKeyRecord, to: SigningKeyState, reason: string, now: Date): void {
  k.history.push({ at: now.toISOString(), from: k.state, to, reason });
  k.state = to;
}

/**
 * Refuses a key whose name or public-key bytes the fleet has seen: a revoked one forever, any
 * other because Nix keeps one key per name (the other's signatures would silently fail).
 */
export function checkKeyIsNew(data: InventoryData, name: string, publicKey: Uint8Array): void {
  for (const k of data.signingKeys) {
    const sameName = k.name === name;
    const sameBytes = bytesEqual(parsePublicKey(k.publicKey).bytes, publicKey);
    if (!sameName && !sameBytes) continue;
    if (k.state === 'revoked') {
      throw new SigningError('SIGNING_KEY_REVOKED', `${sameName ? `key name ${name}` : `this public key (revoked as ${k.name})`} was revoked and is refused forever; generate a new key with a new name`);
    }
    if (sameName) throw new SigningError('SIGNING_KEY_NAME_TAKEN', `key name ${name} is already used by ${scopeLabel(k.node)}; key names are unique in the fleet and never reused`);
    throw new SigningError('SIGNING_KEY_DUPLICATE', `this public key is already in the inventory as ${k.name}`);
  }
}

/** Refuses a key (by name or bytes) that the inventory has revoked; unknown keys pass. */
export function checkNotRevoked(data: InventoryData, key: PublicKey): void {
  const hit = data.signingKeys.find((k) => k.state === 'revoked' && (k.name === key.name || bytesEqual(parsePublicKey(k.publicKey).bytes, key.bytes)));
  if (hit) throw new SigningError('SIGNING_KEY_REVOKED', `key ${key.name}${hit.name !== key.name ? ` (the bytes of ${hit.name})` : ''} was revoked and must not sign anything`);
}

export interface NewKey {
  /** `name:base64(32 bytes)`. */
  publicKey: string;
  scope: Scope;
  secretKeyPath: string | null;
  origin: 'generated' | 'imported';
  reason: string;
}

/** Adds a key in state `next` (always: a key is published before it signs). */
export function addKey(data: InventoryData, input: NewKey, now: Date): SigningKeyRecord {
  const pub = parsePublicKey(input.publicKey);
  if (input.scope !== null) getNode(data, input.scope);
  checkKeyIsNew(data, pub.name, pub.bytes);
  const existing = keyIn(data, input.scope, 'next');
  if (existing) {
    throw new SigningError('SIGNING_NEXT_EXISTS', `${scopeLabel(input.scope)} already has a next key (${existing.name}); promote it with \`nixca key rotate\` or revoke it first`);
  }
  const rec: SigningKeyRecord = {
    name: pub.name,
    node: input.scope,
    publicKey: input.publicKey.trim(),
    secretKeyPath: input.secretKeyPath,
    origin: input.origin,
    state: 'next',
    history: [{ at: now.toISOString(), from: null, to: 'next', reason: input.reason }],
  };
  data.signingKeys.push(rec);
  return rec;
}

/**
 * Refuses to make a key active in one step (`key generate --activate`) unless the scope publishes
 * no key of its own (none next, active or retiring): only then does no client depend on the
 * scope's signatures, so there is nothing to pre-publish against. Otherwise the rotation steps
 * (next, then promote after --min-prepublish) keep clients verifying throughout.
 */
export function checkFirstKey(data: InventoryData, scope: Scope): void {
  if (scope !== null) getNode(data, scope);
  const published = scopeKeys(data, scope).find((k) => k.state === 'next' || k.state === 'active' || k.state === 'retiring');
  if (published) {
    const label = scope ?? '--shared';
    throw new SigningError('SIGNING_KEY_PUBLISHED', `${scopeLabel(scope)} already publishes key ${published.name} (${published.state}); --activate is only for a first key: rotate with \`nixca key rotate ${label}\``);
  }
}

/** The first key of a scope, just added as next (addKey), made active at once (see checkFirstKey). */
export function activateFirstKey(data: InventoryData, scope: Scope, name: string, now: Date, reason?: string): RotateStep {
  const step: RotateStep = { action: 'promote', scope, promoted: name, demoted: null, forced: false };
  return applyRotation(data, step, { minPrepublishMs: 0, minOverlapMs: 0, overlapSigning: false, force: false, reason: reason ?? 'first key, activated at once (nothing was published)' }, now);
}

export interface RotatePolicy {
  /** A next key must have been published (state next) this long before it may sign. */
  minPrepublishMs: number;
  /** A retiring key stays published this long after it stopped being the active key. */
  minOverlapMs: number;
  /** Keep signing with the old key while it is retiring (clients that missed the new key still verify). */
  overlapSigning: boolean;
  force: boolean;
  reason?: string;
}

export type RotateStep =
  | { action: 'create-next'; scope: Scope }
  | { action: 'promote'; scope: Scope; promoted: string; demoted: string | null; forced: boolean }
  | { action: 'retire'; scope: Scope; retired: string; forced: boolean };

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 86400 === 0 && s > 0) return `${s / 86400}d`;
  if (s % 3600 === 0 && s > 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s > 0) return `${s / 60}m`;
  return `${s}s`;
}

/**
 * The next safe step for a scope, decided but not applied:
 * 1. a retiring key beside an active one → retire it (finish the previous rotation first, so
 *    there is never more than one retiring key);
 * 2. else a next key → promote it (old active → retiring);
 * 3. else → a next key must be created (the caller generates or imports one, then calls addKey).
 */
export function planRotation(data: InventoryData, scope: Scope): RotateStep {
  if (scope !== null) getNode(data, scope);
  const active = keyIn(data, scope, 'active');
  const retiring = keyIn(data, scope, 'retiring');
  const next = keyIn(data, scope, 'next');
  if (retiring && active) return { action: 'retire', scope, retired: retiring.name, forced: false };
  if (next) return { action: 'promote', scope, promoted: next.name, demoted: active?.name ?? null, forced: false };
  return { action: 'create-next', scope };
}

/** Applies a promote or retire step, enforcing the policy unless `force`. */
export function applyRotation(data: InventoryData, step: RotateStep, policy: RotatePolicy, now: Date): RotateStep {
  if (step.action === 'create-next') return step;
  if (step.action === 'promote') {
    const next = getKey(data, step.promoted);
    const active = step.demoted ? getKey(data, step.demoted) : undefined;
    let forced = false;
    // With no active key nothing can break: no client depends on this scope's signatures yet.
    if (active) {
      const published = now.getTime() - enteredStateAt(next).getTime();
      if (published < policy.minPrepublishMs) {
        const why = `next key ${next.name} has been published for ${formatDuration(Math.max(0, published))}, less than --min-prepublish ${formatDuration(policy.minPrepublishMs)}: clients that have not yet deployed it would reject its signatures`;
        if (!policy.force) throw new SigningError('SIGNING_ROTATION_UNSAFE', `refusing to promote: ${why} (wait, or pass --force)`);
        forced = true;
      }
      transition(active, 'retiring', policy.reason ?? `replaced by ${next.name}`, now);
      if (policy.overlapSigning) active.overlapSigning = true;
    }
    transition(next, 'active', policy.reason ?? (active ? `rotation: replaces ${active.name}` : 'first active key'), now);
    return { ...step, forced };
  }
  const retiring = getKey(data, step.retired);
  let forced = false;
  const overlap = now.getTime() - enteredStateAt(retiring).getTime();
  if (overlap < policy.minOverlapMs) {
    const why = `retiring key ${retiring.name} stopped signing ${formatDuration(Math.max(0, overlap))} ago, less than --min-overlap ${formatDuration(policy.minOverlapMs)}: narinfos cached by clients may still carry only its signature`;
    if (!policy.force) throw new SigningError('SIGNING_ROTATION_UNSAFE', `refusing to retire: ${why} (wait, or pass --force)`);
    forced = true;
  }
  transition(retiring, 'retired', policy.reason ?? 'rotation complete', now);
  delete retiring.overlapSigning;
  return { ...step, forced };
}

export interface RevokeResult {
  key: SigningKeyRecord;
  previousState: SigningKeyState;
  forced: boolean;
  /** Set when nodes are left without an active key (their caches now serve unsigned narinfos). */
  warning: string | null;
}

/** Nodes that would have no active key (own or shared) if `key` stopped being active. */
function nodesLeftUnsigned(data: InventoryData, key: SigningKeyRecord): string[] {
  const nodes = key.node === null ? data.nodes.map((n) => n.name) : [key.node];
  return nodes.filter((n) => !data.signingKeys.some((k) => k !== key && k.state === 'active' && (k.node === n || k.node === null)));
}

/**
 * Emergency path: out of trust at once, from any state; the name and bytes stay refused forever.
 * Revoking the last active key of a node leaves its cache signing nothing clients accept, so that
 * needs `force` (the operator says "yes, stop trusting it now, unsigned is better than leaked").
 */
export function revokeKey(data: InventoryData, name: string, reason: string, now: Date, force = false): RevokeResult {
  if (!reason.trim()) throw new SigningError('SIGNING_REASON_REQUIRED', 'a revocation needs a --reason');
  const key = getKey(data, name);
  if (key.state === 'revoked') throw new SigningError('SIGNING_KEY_ALREADY_REVOKED', `key ${name} is already revoked`);
  const previousState = key.state;
  const unsigned = previousState === 'active' ? nodesLeftUnsigned(data, key) : [];
  if (unsigned.length && !force) {
    throw new SigningError(
      'SIGNING_ROTATION_UNSAFE',
      `refusing to revoke ${name}: it is the only active key of ${unsigned.map((n) => `node ${n}`).join(', ')}, which would serve narinfos no client accepts until a new key is promoted; pass --force to revoke it anyway (then: nixca key rotate ${key.node ?? '--shared'} --secret-out FILE, deploy, nixca key rotate ${key.node ?? '--shared'})`,
    );
  }
  transition(key, 'revoked', reason, now);
  delete key.overlapSigning;
  const warning = unsigned.length
    ? `${unsigned.map((n) => `node ${n}`).join(', ')} ha${unsigned.length > 1 ? 've' : 's'} no active signing key now: create one (nixca key rotate ${key.node ?? '--shared'} --secret-out FILE), deploy, and promote it (nixca key rotate ${key.node ?? '--shared'}: with no active key left, promotion needs no waiting)`
    : null;
  return { key, previousState, forced: unsigned.length > 0, warning };
}
