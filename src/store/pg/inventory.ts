// The inventory (src/store/inventory.ts's interface) in the shared database: one JSONB document,
// updated under a row lock in one transaction (a failed `fn` writes nothing), and cached by each
// instance until a NOTIFY says it changed. Without a live change feed every read goes to the
// database, so an instance never serves a stale inventory for longer than a notification takes.
import type pg from 'pg';
import { InventoryError } from '../../inventory/errors.js';
import { emptyInventory, type InventoryData } from '../../inventory/model.js';
import type { InventoryStore } from '../inventory.js';
import type { ChangeFeed } from './notify.js';
import { inTransaction } from './audit.js';

function check(data: InventoryData): InventoryData {
  if (!data || data.version !== 1 || !Array.isArray(data.nodes) || !Array.isArray(data.signingKeys)) {
    throw new InventoryError('INVENTORY_CORRUPT', 'the inventory in the shared store is not a nixca inventory (version 1)');
  }
  return data;
}

export function createPgInventory(db: pg.Pool, feed?: ChangeFeed): InventoryStore {
  let cached: InventoryData | undefined;
  let generation = 0;
  // Invalidated by every notification and by a feed reconnect (notifications may have been missed).
  feed?.subscribe('nixca_inventory', () => {
    generation++;
    cached = undefined;
  });
  const load = async () => {
    const r = await db.query<{ data: InventoryData }>({ name: 'inv-get', text: 'SELECT data FROM inventory WHERE one' });
    return check(r.rows[0]?.data ?? emptyInventory());
  };
  return {
    async read() {
      if (cached && feed?.connected) return cached;
      const seen = generation;
      const data = await load();
      // A change announced while we read must not be hidden behind what we read before it.
      if (feed?.connected && seen === generation) cached = data;
      return data;
    },
    async update(fn) {
      // `fn` runs inside the transaction: the audit entries it appends (src/ops) commit with the change.
      const result = await inTransaction(db, async (c) => {
        await c.query("INSERT INTO inventory (one, version, data) VALUES (true, 0, $1) ON CONFLICT DO NOTHING", [emptyInventory()]);
        const cur = await c.query<{ data: InventoryData }>('SELECT data FROM inventory WHERE one FOR UPDATE');
        const data = structuredClone(check(cur.rows[0]!.data));
        const r = await fn(data);
        await c.query('UPDATE inventory SET data = $1, version = version + 1, updated_at = now() WHERE one', [data]);
        await c.query("SELECT pg_notify('nixca_inventory', '')");
        return r;
      });
      generation++;
      cached = undefined;
      return result;
    },
  };
}
