// A consistent read of a whole embedded store (the ACME ledger and working set of --state's acme/,
// and inventory.json), for `nixca db import`. The store's writer lock is held for as long as the
// snapshot is open: no `nixca serve` can start writing it meanwhile, and one that runs is refused
// (its lock is held), so what is copied is exactly what is on disk.
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord, RevocationRecord } from '../acme/model.js';
import type { InventoryData } from '../inventory/model.js';
import { ACME_DIR, openAcmeStore } from './acme.js';
import { loadWorkingSet } from './acme-working.js';
import { INVENTORY_FILE, openInventoryStore } from './inventory.js';
import { lockHolder, tryFileLock } from './lock.js';

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  constructor(message: string, readonly kind: 'not-found' | 'conflict') {
    super(message);
  }
}

export interface EmbeddedSnapshot {
  accounts: AccountRecord[];
  /** Orders of the working set; an order whose certificate committed carries its serial (as the store reconciles at open). */
  orders: OrderRecord[];
  authorizations: AuthorizationRecord[];
  /** In issuance order (the ledger's). */
  certificates: CertificateRecord[];
  revocations: RevocationRecord[];
  crlNumber: number;
  /** inventory.json, or null when the state directory has none. */
  inventory: InventoryData | null;
  /** The chain (leaf first, PEM) exactly as stored, read from chains.pem on demand. */
  chain(serial: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function openEmbeddedSnapshot(stateDir: string): Promise<EmbeddedSnapshot> {
  const dir = join(stateDir, ACME_DIR);
  if (!(await stat(join(dir, 'ledger.jsonl')).then((s) => s.isFile(), () => false))) {
    throw new SnapshotError(`no embedded ACME store in ${stateDir} (${join(dir, 'ledger.jsonl')} does not exist)`, 'not-found');
  }
  const lockFile = join(dir, 'writer.lock');
  const lock = await tryFileLock(lockFile);
  if (!lock) throw new SnapshotError(`the embedded store in ${stateDir} is being written by ${await lockHolder(lockFile)} (nixca serve?): stop it first, so that nothing is issued during the move`, 'conflict');
  try {
    // Read-only: no repair, no compaction; the lock above keeps every writer out.
    const store = await openAcmeStore(stateDir, { readOnly: true });
    const [accounts, certificates, revocations, working] = await Promise.all([
      store.listAccounts(),
      store.listCertificates(),
      store.listRevocations(),
      loadWorkingSet(join(dir, 'working.jsonl')),
    ]);
    const bySerialOrder = new Map(certificates.map((c) => [c.orderId, c.serial]));
    const orders = [...working.set.orders.values()].map((o) => {
      const serial = bySerialOrder.get(o.id);
      return serial && !o.certificateSerial ? { ...o, certificateSerial: serial } : o;
    });
    const hasInventory = await stat(join(stateDir, INVENTORY_FILE)).then(() => true, () => false);
    const inventory = hasInventory ? structuredClone(await (await openInventoryStore(stateDir)).read()) : null;
    return {
      accounts,
      orders,
      authorizations: [...working.set.authzs.values()],
      certificates,
      revocations,
      crlNumber: store.crlNumber?.() ?? 0,
      inventory,
      chain: (serial) => store.getCertificateChain(serial),
      async close() {
        await store.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
