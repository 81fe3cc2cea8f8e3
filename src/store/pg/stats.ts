// The /metrics sizes of the shared store. AcmeStore.stats() is synchronous (a gauge read), so the
// counts are taken in the background and the last result is served.
import type pg from 'pg';
import type { AcmeStoreStats } from '../../acme/store.js';

export const EMPTY_STATS: AcmeStoreStats = {
  accounts: 0, certificates: 0, revocations: 0, orders: 0, ordersInFlight: 0, authorizations: 0,
  ledgerBytes: 0, chainBytes: 0, workingBytes: 0, workingLines: 0,
};

export async function countStats(db: pg.Pool, now: Date): Promise<AcmeStoreStats> {
  const r = await db.query<Record<string, string>>({
    name: 'stats',
    text: `SELECT
      (SELECT count(*) FROM accounts) AS accounts,
      (SELECT count(*) FROM certificates) AS certificates,
      (SELECT count(*) FROM revocations) AS revocations,
      (SELECT count(*) FROM orders) AS orders,
      (SELECT count(*) FROM orders WHERE certificate_serial IS NULL AND NOT record ? 'error' AND expires > $1) AS in_flight,
      (SELECT count(*) FROM authorizations) AS authorizations,
      pg_total_relation_size('certificates') AS ledger_bytes,
      pg_total_relation_size('orders') + pg_total_relation_size('authorizations') AS working_bytes`,
    values: [now],
  });
  const x = r.rows[0]!;
  const n = (k: string) => Number(x[k] ?? 0);
  return {
    accounts: n('accounts'), certificates: n('certificates'), revocations: n('revocations'), orders: n('orders'),
    // Not-yet-valid orders whose authorizations failed are counted too: an upper bound, cheap.
    ordersInFlight: n('in_flight'), authorizations: n('authorizations'),
    ledgerBytes: n('ledger_bytes'), chainBytes: 0, workingBytes: n('working_bytes'), workingLines: 0,
  };
}
