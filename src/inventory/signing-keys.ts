// Read-only views of the signing keys in the inventory: which public keys a node's clients must
// trust and which secret-key paths its Harmonia signs with. The NixOS emitter and `nixca key
// status` both use these, so what the status shows is exactly what the emitted modules carry.
import type { InventoryData, SigningKeyRecord, SigningKeyState } from './model.js';

/** Published = in clients' trusted-public-keys: next (pre-published), active, retiring. */
export const PUBLISHED_STATES: readonly SigningKeyState[] = ['next', 'active', 'retiring'];

export function isPublished(k: SigningKeyRecord): boolean {
  return PUBLISHED_STATES.includes(k.state);
}

/** True when Harmonia on the key's node(s) signs with it: active, or retiring during an overlap. */
export function isSigning(k: SigningKeyRecord): boolean {
  return k.state === 'active' || (k.state === 'retiring' && k.overlapSigning === true);
}

/** Keys that apply to `node`: its own and the fleet-wide shared ones (node === null), in inventory order. */
export function keysForNode(data: InventoryData, node: string): SigningKeyRecord[] {
  return data.signingKeys.filter((k) => k.node === node || k.node === null);
}

/** Public keys (`name:base64`) that clients must trust for substitutes from `node`. */
export function publishedKeysFor(data: InventoryData, node: string): string[] {
  return keysForNode(data, node).filter(isPublished).map((k) => k.publicKey);
}

/**
 * The keys Harmonia on `node` signs with: its own and the shared ones that are active, then the
 * retiring ones in an overlap (`overlapSigning`, or every retiring key when `overlapAll`, which
 * is `nixca nixos emit --sign-key-overlap`). Active first: the order harmonia emits `Sig:` lines.
 */
export function signingKeysFor(data: InventoryData, node: string, overlapAll = false): SigningKeyRecord[] {
  const mine = keysForNode(data, node);
  const active = mine.filter((k) => k.state === 'active');
  const retiring = mine.filter((k) => k.state === 'retiring' && (overlapAll || isSigning(k)));
  return [...active, ...retiring];
}

/** Runtime secret-key paths for `services.harmonia.signKeyPaths` on `node` (active first). */
export function signKeyPathsFor(data: InventoryData, node: string): string[] {
  return signingKeysFor(data, node).map((k) => k.secretKeyPath).filter((p): p is string => p !== null);
}

/** Every published key of the fleet (all nodes and shared), for clients that use every cache. */
export function fleetTrustedPublicKeys(data: InventoryData): string[] {
  return data.signingKeys.filter(isPublished).map((k) => k.publicKey);
}

/** When `k` entered its current state (the last history entry), as a Date. */
export function enteredStateAt(k: SigningKeyRecord): Date {
  const last = k.history[k.history.length - 1];
  return new Date(last ? last.at : 0);
}
