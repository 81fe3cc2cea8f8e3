// How `nixca key …` shows keys: one view per key record (also the --json shape), the text lines,
// and the per-node status the NixOS output will carry.
import type { InventoryData, SigningKeyRecord } from '../src/inventory/model.js';
import type * as SigningKeyViews from '../src/inventory/signing-keys.js';

export function keyView(k: SigningKeyRecord) {
  return {
    name: k.name,
    node: k.node,
    state: k.state,
    publicKey: k.publicKey,
    secretKeyPath: k.secretKeyPath,
    origin: k.origin,
    overlapSigning: k.overlapSigning === true,
    since: k.history[k.history.length - 1]?.at ?? null,
    history: k.history,
  };
}

export type KeyView = ReturnType<typeof keyView>;

export function keyLine(k: KeyView): string {
  const signing = k.state === 'active' || (k.state === 'retiring' && k.overlapSigning) ? ', signing' : '';
  return `  ${k.state.padEnd(8)} ${k.name} (since ${k.since}${signing})\n           ${k.publicKey}\n           secret at ${k.secretKeyPath ?? '(none)'}`;
}

export function createdText(r: { key: SigningKeyRecord; secretOut: string | null }): string {
  const where = r.key.node === null ? 'the shared fleet key' : `node ${r.key.node}`;
  const active = r.key.state === 'active';
  return [
    `${r.key.origin === 'generated' ? 'generated' : 'imported'} signing key ${r.key.name} for ${where}, state ${active ? 'active (published and signing)' : 'next (published, not signing yet)'}`,
    `  public key: ${r.key.publicKey}`,
    r.secretOut ? `  secret key: written to ${r.secretOut} (mode 0600); install it on the node at ${r.key.secretKeyPath}` : `  the node's Harmonia reads its secret at ${r.key.secretKeyPath}`,
    active
      ? '  next: install the secret, then deploy the NixOS output (clients trust the key, Harmonia signs with it)'
      : `  next: deploy the NixOS output so clients trust it, then: nixca key rotate ${r.key.node ?? '--shared'}`,
  ].join('\n');
}

export function statusOf(data: InventoryData, node: string | undefined, views: typeof SigningKeyViews) {
  const nodes = node ? [node] : data.nodes.map((n) => n.name);
  return {
    nodes: nodes.map((n) => ({
      node: n,
      keys: data.signingKeys.filter((k) => k.node === n).map(keyView),
      trustedPublicKeys: views.publishedKeysFor(data, n),
      signKeyPaths: views.signKeyPathsFor(data, n),
    })),
    shared: data.signingKeys.filter((k) => k.node === null).map(keyView),
    fleetTrustedPublicKeys: views.fleetTrustedPublicKeys(data),
  };
}

export type Status = ReturnType<typeof statusOf>;

export function statusText(s: Status): string {
  const out: string[] = [];
  for (const n of s.nodes) {
    out.push(`node ${n.node}`);
    if (n.keys.length === 0) out.push('  (no own keys)');
    for (const k of n.keys) out.push(keyLine(k));
    out.push(`  trusted-public-keys: ${n.trustedPublicKeys.join(' ') || '(none)'}`);
    out.push(`  harmonia signKeyPaths: ${n.signKeyPaths.join(' ') || '(none: this node serves unsigned narinfos)'}`);
  }
  if (s.shared.length) {
    out.push('shared fleet keys');
    for (const k of s.shared) out.push(keyLine(k));
  }
  out.push(`fleet trusted-public-keys: ${s.fleetTrustedPublicKeys.join(' ') || '(none)'}`);
  return out.join('\n');
}
