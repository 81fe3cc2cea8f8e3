// The fleet inventory: the one source of truth that the ACME policy, the EAB credentials, the
// signing-key state machine and the NixOS emitter all read (docs/DESIGN.md, "The inventory").
// Plain JSON-serialisable data; operations live in inventory.ts, persistence in src/store.

export type SigningKeyState = 'next' | 'active' | 'retiring' | 'retired' | 'revoked';

export interface SigningKeyTransition {
  at: string; // ISO 8601
  from: SigningKeyState | null;
  to: SigningKeyState;
  reason: string;
}

export interface SigningKeyRecord {
  /** Nix key name, the part before ':' (e.g. `cache.nuc-1.n3x.internal-1`); unique in the fleet, forever. */
  name: string;
  /** Owning node, or null for the fleet-wide shared key. */
  node: string | null;
  /** `name:base64(32 bytes)`, exactly as in nix.settings.trusted-public-keys. */
  publicKey: string;
  /** Runtime path on the node where Harmonia reads the secret; never the secret itself. */
  secretKeyPath: string | null;
  origin: 'generated' | 'imported';
  state: SigningKeyState;
  history: SigningKeyTransition[];
  /**
   * Optional (added by the signing-key area): a `retiring` key with this set still signs, beside
   * the active key, during a rotation overlap (`nixca key rotate --overlap`). Absent = false.
   * Use `signKeyPathsFor` in src/inventory/signing-keys.ts rather than reading it directly.
   */
  overlapSigning?: boolean;
}

/** External Account Binding credential (RFC 8555 §7.3.4): key id + 256-bit HMAC key (base64url). */
export interface EabCredential {
  keyId: string;
  macKey: string;
  createdAt: string;
}

export interface NodeRecord {
  /** Short node name (`nuc-1`): a DNS label, also used in file names of emitted modules. */
  name: string;
  /**
   * The node's identity: random, set when the node is added. A node removed and added again under
   * the same name is a new identity, so accounts bound to the old one never work again. Absent on
   * nodes added before identities existed (then `createdAt` tells the identities apart).
   */
  id?: string;
  /** Exact DNS names the node owns. */
  dnsNames: string[];
  /** DNS suffixes under which the node owns every name (`bench.test` owns `a.bench.test`). */
  dnsSuffixes: string[];
  site: string | null;
  /** Substituter priority (lower is preferred, as in Nix). */
  priority: number;
  createdAt: string;
  eab: EabCredential | null;
  /** Set by `renew-now`: ACME renewal windows for this node's certificates start no later than this. */
  renewAfter: string | null;
}

export interface InventoryData {
  version: 1;
  /** Sorted by name so that every reader (and the emitter) sees one deterministic order. */
  nodes: NodeRecord[];
  /** In creation order; revoked keys stay forever so their names and bytes can be refused. */
  signingKeys: SigningKeyRecord[];
}

export const DEFAULT_PRIORITY = 40;

export function emptyInventory(): InventoryData {
  return { version: 1, nodes: [], signingKeys: [] };
}
