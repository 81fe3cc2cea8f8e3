// The operations API: every change an operator makes to the issuer's state (revocation, renew-now,
// node and EAB changes, account deactivation, signing-key transitions) as one request type and one result type, so that the
// same operation runs in the CLI against the store, inside the running issuer (admin socket), or
// against a shared database, and is validated, applied and audited the same way everywhere.
import type { RefusedName } from '../ca/constraints.js';
import type { ErrorKind } from '../ca/errors.js';
import type { AcmeStore } from '../acme/store.js';
import type { AuditEvent } from '../audit/log.js';
import type { InventoryData } from '../inventory/model.js';
import type { NewNode } from '../inventory/inventory.js';
import type { KeyOperation } from './keys.js';

export type Operation =
  | { op: 'cert.revoke'; serial: string; reason: number }
  | { op: 'cert.revoke-node'; node: string; reason: number }
  | { op: 'renew-now'; nodes: string[] | 'all'; reason: string }
  | { op: 'node.add'; node: NewNode }
  | { op: 'node.update'; name: string; site?: string | null; priority?: number }
  | { op: 'node.remove'; name: string }
  | { op: 'node.eab'; name: string; rotate: boolean; deactivateAccounts: boolean }
  | { op: 'account.deactivate'; id: string; reason: string }
  | KeyOperation;

export type OperationName = Operation['op'];

/** What every operation answers: one line for humans, warnings, and the data for --json. */
export interface OpResult<T = unknown> {
  op: OperationName;
  /**
   * Where it was applied: inside the running issuer, on the embedded store by this process, or on
   * the shared (PostgreSQL) store, which every issuer on it follows within seconds.
   */
  appliedBy: 'issuer' | 'store' | 'shared-store';
  summary: string;
  warnings: string[];
  data: T;
}

/** A refused operation; `kind` decides the CLI's exit code (README "Exit codes"). */
export class OpsError extends Error {
  override readonly name = 'OpsError';
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
  }
}

/** What the operations need; the composition root wires concrete stores (embedded or shared). */
export interface OpsDeps {
  /** The ACME store, writable; null when nothing was ever issued (no store exists yet). */
  store: AcmeStore | null;
  inventory: {
    read(): Promise<InventoryData>;
    /** Locked read-modify-write; if `fn` throws, nothing is written. */
    update<R>(fn: (data: InventoryData) => R | Promise<R>): Promise<R>;
  };
  /** Appends audit entries; resolves once durable, rejects if they cannot be written. */
  audit(events: AuditEvent[]): Promise<void>;
  now(): Date;
  appliedBy: OpResult['appliedBy'];
  /** After a revocation: the running issuer regenerates and serves its CRL before answering. */
  afterRevocation?(): Promise<void>;
  /**
   * The names (dNSNames, "*.suffix" for a DNS suffix) the installed intermediate and root could
   * never certify (src/ca/constraints.ts namesOutsideConstraints); absent or [] when no issuer is
   * installed yet. `node add` refuses them rather than fail later at finalize.
   */
  refusedNames?(names: readonly string[]): Promise<RefusedName[]>;
  /** Nodes whose clients never fetched renewalInfo (for renew-now's warning). */
  ariNeverPolled?(nodes: readonly string[]): Promise<string[]>;
}
