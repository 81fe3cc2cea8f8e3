// What the ACME core needs from storage (step-ca's acme.DB pattern: the consumer owns the narrow
// interface). src/store/acme.ts implements it (append-only logs + lowdb metadata); tests may too.
//
// Contract:
// - Every method that returns a Promise resolves only once the change is durable (fsync'd).
// - Readers get copies or frozen values: mutating a returned record never changes the store.
// - `update*` applies `fn` to the current version atomically with respect to other updates of the
//   same store (single process); returning undefined from `fn` leaves the record unchanged.
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord, RevocationRecord } from './model.js';

/**
 * What the caller must also record for a write to count as done (the audit entry of an issuance or
 * a revocation). The store calls it once the record is durable and before the record becomes
 * visible to any reader; if it throws, the write fails with that error and the record is not
 * shown (a store that keeps it durably anyway must surface it again only through the start-up
 * recovery, which writes the missing audit entry). A transactional store calls it inside the
 * transaction and rolls back on failure; a store that writes the record and its entry in one
 * statement may call it first, to collect the entry, and again if that statement has to be
 * repeated (so it must do nothing but produce the entry).
 */
export type CommitHook = () => Promise<void>;

export interface CertificateQuery {
  node?: string;
  accountId?: string;
  /** Only certificates with notAfter after this instant. */
  validAt?: Date;
}

export interface AcmeStore {
  /** True when this handle cannot write (another process is the store's writer). */
  readonly readOnly: boolean;

  // Accounts: long-lived (§7.1.2); never pruned.
  getAccount(id: string): Promise<AccountRecord | undefined>;
  findAccountByThumbprint(thumbprint: string): Promise<AccountRecord | undefined>;
  /** Creates an account; fails with StoreConflictError if the thumbprint is already in use. */
  createAccount(account: AccountRecord): Promise<AccountRecord>;
  /** Every account (its current version), oldest first; `node` narrows to accounts bound to that node name. */
  listAccounts(query?: { node?: string }): Promise<AccountRecord[]>;
  /** Updates an account (contact, status, key). A new thumbprint already in use → StoreConflictError. */
  updateAccount(id: string, fn: (a: AccountRecord) => AccountRecord | undefined): Promise<AccountRecord | undefined>;

  // In-flight working set: orders and authorizations, pruned some time after they expire.
  createOrder(order: OrderRecord, authorizations: readonly AuthorizationRecord[]): Promise<void>;
  getOrder(id: string): Promise<OrderRecord | undefined>;
  /**
   * finalize's reads at once, for a store where each read is a round trip (one statement on the
   * shared store): what getOrder(id) returns and whether findAccountByThumbprint(thumbprint) finds
   * an account (RFC 8555 §11.1: a CSR key must be no account's key). Undefined when there is no
   * such order. Absent: the reads one by one.
   */
  getOrderAndAccountKey?(id: string, thumbprint: string): Promise<{ order: OrderRecord; isAccountKey: boolean } | undefined>;
  updateOrder(id: string, fn: (o: OrderRecord) => OrderRecord | undefined): Promise<OrderRecord | undefined>;
  /** Ids of this account's orders still in the working set, oldest first (§7.1.2.1). */
  listOrderIds(accountId: string): Promise<string[]>;
  /**
   * `current`: the stored record, never a copy kept by this instance (a store shared by several
   * instances may answer from one that another instance's change reaches moments later).
   */
  getAuthorization(id: string, opts?: { current?: boolean }): Promise<AuthorizationRecord | undefined>;
  updateAuthorization(id: string, fn: (a: AuthorizationRecord) => AuthorizationRecord | undefined): Promise<AuthorizationRecord | undefined>;
  /** A still-usable authorization of this account for this identifier (object reuse, §7.1.3), if any. */
  findReusableAuthorization(accountId: string, identifier: string, now: Date): Promise<AuthorizationRecord | undefined>;
  /**
   * newOrder's reads at once, for a store where each read is a round trip (one statement on the
   * shared store): the account's order ids (listOrderIds) and, per identifier, what
   * findReusableAuthorization(accountId, identifier, now) returns. Absent: the reads one by one.
   */
  newOrderReads?(accountId: string, identifiers: readonly string[], now: Date): Promise<{ orderIds: string[]; reusable: Map<string, AuthorizationRecord> }>;
  /**
   * createOrder in one round trip, for a store where each read is one: only when nothing needs
   * deciding, that is when the account has no authorization for these identifiers that could be
   * reused at `guard.reuseAt` (§7.1.3) and its unfinished orders and their authorizations, counted
   * generously (every unexpired order without a certificate, every authorization it names), stay
   * within the §6.6 limits with this order. False, with nothing written, otherwise: the caller
   * then reads and decides (newOrderReads, createOrder). Absent: always that way.
   */
  createOrderIfClear?(order: OrderRecord, authorizations: readonly AuthorizationRecord[], guard: { now: Date; reuseAt: Date; maxOrders: number; maxAuthorizations: number }): Promise<boolean>;

  // Certificates: the issuance record is durable before the response that returns it.
  /**
   * Fails with StoreConflictError if the serial exists. The record names its order: an order with a
   * committed certificate is valid even if a crash came before updateOrder (the store reconciles).
   */
  putCertificate(cert: CertificateRecord, chainPem: string, commit?: CommitHook): Promise<void>;
  /**
   * True if putCertificate also records the certificate's serial on its order in the same commit,
   * so the caller's own updateOrder would change nothing (a round trip saved on a shared store).
   */
  readonly recordsOrderCertificate?: boolean;
  /**
   * True if other processes serve from this store at the same time (a shared database): a
   * challenge another instance is validating is `processing` here with no validation of ours.
   */
  readonly sharedByInstances?: boolean;
  getCertificate(serial: string): Promise<CertificateRecord | undefined>;
  getCertificateChain(serial: string): Promise<string | undefined>;
  hasSerial(serial: string): boolean;
  listCertificates(query?: CertificateQuery): Promise<CertificateRecord[]>;

  /**
   * RFC 9773 §5 (alreadyReplaced): certificates recorded as replacing `serial`, and orders still in
   * the working set whose `replacesSerial` is `serial` (the caller decides which are invalid).
   */
  findReplacements(serial: string): Promise<{ certificates: string[]; orders: OrderRecord[] }>;

  /** The last CRL number used (RFC 5280 §5.2.3: CRL numbers only grow), 0 if none. */
  crlNumber?(): number;
  /** Persists the CRL number about to be used; resolves once durable. */
  recordCrlNumber?(n: number): Promise<void>;
  /**
   * A store shared by several instances allocates CRL numbers itself (durable, strictly increasing
   * across instances); when present it replaces crlNumber/recordCrlNumber.
   */
  nextCrlNumber?(): Promise<number>;
  /**
   * A shared store calls `fn` when revocations may have changed elsewhere (another instance, the
   * CLI), so that every instance's CRL follows within seconds. Returns an unsubscribe function.
   */
  watchRevocations?(fn: () => void): () => void;

  // Revocations (§7.6).
  /** Fails with StoreConflictError if the serial is already revoked; `commit` as for putCertificate. */
  putRevocation(rev: RevocationRecord, commit?: CommitHook): Promise<void>;
  getRevocation(serial: string): Promise<RevocationRecord | undefined>;
  listRevocations(): Promise<RevocationRecord[]>;

  /** Sizes for /metrics (cheap: counters kept in memory). */
  stats(): AcmeStoreStats;
  /** /health: proves the store's directory takes a durable write now (disk full, read-only mount). */
  checkWritable(): Promise<void>;

  /** Drops expired working-set records (orders, authorizations) and compacts what needs it. */
  prune(now: Date): Promise<{ orders: number; authorizations: number }>;
  close(): Promise<void>;
}

export interface AcmeStoreStats {
  accounts: number;
  certificates: number;
  revocations: number;
  /** Orders in the working set (any status, until pruned). */
  orders: number;
  /** Orders without a certificate or an error that have not expired (pending, ready, processing). */
  ordersInFlight: number;
  authorizations: number;
  ledgerBytes: number;
  chainBytes: number;
  workingBytes: number;
  workingLines: number;
}

export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  constructor(message: string, readonly existingId?: string) {
    super(message);
  }
}
