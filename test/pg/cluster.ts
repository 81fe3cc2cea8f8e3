// The throw-away PostgreSQL cluster lives with the benchmark (bench/lib/pg-cluster.ts), which
// starts one for `npm run bench -- --store temp`; the tests use the same helper.
import { openPool } from '../../src/store/pg/connect.js';
import { migrate } from '../../src/store/pg/migrate.js';
import type { TestCluster } from '../../bench/lib/pg-cluster.js';

export * from '../../bench/lib/pg-cluster.js';

/** A new database in `cluster` with the current schema applied (as `nixca db migrate` does); its URL. */
export async function migratedDatabase(cluster: TestCluster, name: string): Promise<string> {
  const url = await cluster.createDatabase(name);
  const p = await openPool({ url });
  try {
    await migrate(p.pool);
  } finally {
    await p.end();
  }
  return url;
}
