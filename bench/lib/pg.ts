// The shared store for `npm run bench -- --store URL|temp`: a throw-away cluster (temp) or a
// given database, migrated; and the database server's postmaster PID, whose CPU (with every
// backend's) is added to the issuer's. Only a server on this machine can be measured (/proc).
import { readFileSync } from 'node:fs';
import { openPool } from '../../src/store/pg/connect.js';
import { nixca, storeArgs, type StoreArgs } from './nixca.js';
import { startTestCluster } from './pg-cluster.js';

export interface BenchStore {
  store: StoreArgs;
  /** The postmaster (undefined: the server is not on this machine, its CPU is not measured). */
  dbPid: number | undefined;
  close(): Promise<void>;
}

/** The postmaster of the server behind `store`: the parent of our own backend. */
async function postmasterPid(store: StoreArgs): Promise<number | undefined> {
  const p = await openPool({ url: store.url, passwordFile: store.passwordFile, max: 1 });
  try {
    const backend = (await p.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const stat = readFileSync(`/proc/${backend}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  } finally {
    await p.end();
  }
}

export async function openBenchStore(spec: string, passwordFile: string | undefined, log: (s: string) => void): Promise<BenchStore> {
  let close = async () => undefined as void;
  let store: StoreArgs;
  if (spec === 'temp') {
    const cluster = await startTestCluster();
    close = () => cluster.destroy();
    store = { url: await cluster.createDatabase('nixca_bench') };
    log(`throw-away PostgreSQL cluster in ${cluster.dir} (port ${cluster.port})`);
  } else {
    store = { url: spec, ...(passwordFile ? { passwordFile } : {}) };
  }
  try {
    nixca(['db', 'migrate', ...storeArgs(store)]);
    const dbPid = await postmasterPid(store);
    log(dbPid ? `database server: postmaster pid ${dbPid} (its CPU and its backends' are measured)` : 'database server not on this machine: its CPU is NOT measured');
    return { store, dbPid, close };
  } catch (err) {
    await close();
    throw err;
  }
}
