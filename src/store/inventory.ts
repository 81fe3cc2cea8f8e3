// Persistence of the fleet inventory (src/inventory/model.ts) as `inventory.json` in the state
// directory. Writers take a lock, re-read, mutate, and write atomically (lowdb/steno rename), so a
// failed operation writes nothing and concurrent CLI invocations never lose each other's changes.
// Readers (the long-running issuer) re-read only when the file changed on disk.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InventoryError } from '../inventory/errors.js';
import { emptyInventory, type InventoryData } from '../inventory/model.js';
import { withFileLock, LockTimeoutError } from './lock.js';
import { openJsonDocument, type JsonDocument } from './lowdb.js';

export const INVENTORY_FILE = 'inventory.json';

export interface InventoryStore {
  /** The current inventory; cheap when the file has not changed (one stat). Treat as read-only. */
  read(): Promise<InventoryData>;
  /** Locked read-modify-write. If `fn` throws, nothing is written. */
  update<R>(fn: (data: InventoryData) => R | Promise<R>): Promise<R>;
}

function check(data: InventoryData, file: string): InventoryData {
  if (!data || data.version !== 1 || !Array.isArray(data.nodes) || !Array.isArray(data.signingKeys)) {
    throw new InventoryError('INVENTORY_CORRUPT', `${file} is not a nixca inventory (version 1)`);
  }
  return data;
}

/**
 * `recheckMs`: a long-running reader (the issuer reads on every account request) looks at the file
 * at most this often; changes made through `update` on this handle are seen at once regardless.
 */
export async function openInventoryStore(stateDir: string, opts: { recheckMs?: number } = {}): Promise<InventoryStore> {
  const file = join(stateDir, INVENTORY_FILE);
  const recheckMs = opts.recheckMs ?? 0;
  let doc: JsonDocument<InventoryData> | undefined;
  let seen = '';
  let checkedAt = -Infinity;
  const fingerprint = async () => {
    const s = await stat(file).catch(() => undefined);
    return s ? `${s.mtimeMs}:${s.size}:${s.ino}` : 'absent';
  };
  const load = async () => {
    if (!doc) doc = await openJsonDocument<InventoryData>(file, emptyInventory());
    else await doc.read();
    return check(doc.data, file);
  };
  return {
    async read() {
      if (doc && recheckMs > 0 && performance.now() - checkedAt < recheckMs) return doc.data;
      checkedAt = performance.now();
      const fp = await fingerprint();
      if (!doc || fp !== seen) {
        await load();
        seen = fp;
      }
      return doc!.data;
    },
    async update(fn) {
      try {
        return await withFileLock(file + '.lock', async () => {
          const data = structuredClone(await load());
          const result = await fn(data);
          Object.assign(doc!.data, data);
          await doc!.write();
          seen = await fingerprint();
          return result;
        });
      } catch (err) {
        if (err instanceof LockTimeoutError) throw new InventoryError('INVENTORY_LOCKED', `inventory is locked by another nixca process: ${err.message}`);
        // `fn` worked on a copy, so a refused change never reached `doc`; but if the write itself
        // failed after the copy was applied, re-read so that readers see the file, not the change.
        if (doc) await doc.read().catch(() => undefined);
        throw err;
      }
    },
  };
}
