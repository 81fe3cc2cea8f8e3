// Statements per issuance on the shared PostgreSQL store, counted by the server
// (pg_stat_statements): two `bench/run.ts --store URL` runs of N1 and N2 issuances, each on its own
// fresh database of one throw-away cluster; (S(N2) − S(N1)) / (N2 − N1) per statement, so start-up,
// migration, seeding and warmup cancel out. Polls follow the clients' timing (--poll-ms), so the
// poll reads vary a little between runs; everything else is exact.
//
//   node dist/bench/statements.js [--n1 20] [--n2 60] [--c 10] [--instances 1]
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from './lib/nixca.js';
import { startTestCluster } from './lib/pg-cluster.js';

const { values: opt } = parseArgs({ options: { n1: { type: 'string', default: '20' }, n2: { type: 'string', default: '60' }, c: { type: 'string', default: '10' }, instances: { type: 'string', default: '1' } } });
const RUN = resolve(fileURLToPath(import.meta.url), '../run.js');
const cluster = await startTestCluster({ shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top', 'pg_stat_statements.max': '10000' });
try {
  await cluster.sql('postgres', 'CREATE EXTENSION pg_stat_statements');
  const counts: Map<string, number>[] = [];
  for (const n of [opt.n1, opt.n2]) {
    const db = `stmts_${n}_${counts.length}`;
    const url = await cluster.createDatabase(db);
    const ports = [String(await freePort(20000, 29999)), String(await freePort(20000, 29999))];
    console.error(`[statements] ${n} issuances, C=${opt.c}, ${opt.instances} instance(s)`);
    const p = spawnSync(process.execPath, [RUN, '--n', n!, '--c', opt.c!, '--instances', opt.instances!, '--port', ports[0]!, '--http-port', ports[1]!, '--log-level', 'warn', '--json-out', '/dev/null', '--store', url], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (p.status !== 0) throw new Error(`bench exited ${p.status}`);
    const rows = await cluster.sql<{ query: string; calls: string }>('postgres', `SELECT s.query, sum(s.calls)::text AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 GROUP BY s.query`, [db]);
    counts.push(new Map(rows.map((r) => [r.query.replace(/\s+/g, ' ').trim(), Number(r.calls)])));
  }
  const span = Number(opt.n2) - Number(opt.n1);
  const per = [...new Set([...counts[0]!.keys(), ...counts[1]!.keys()])]
    .map((q) => ({ q, n: ((counts[1]!.get(q) ?? 0) - (counts[0]!.get(q) ?? 0)) / span }))
    .filter((x) => Math.abs(x.n) >= 0.05)
    .sort((a, b) => b.n - a.n);
  for (const { q, n } of per) console.log(`${n.toFixed(2).padStart(6)}  ${q.length > 150 ? q.slice(0, 147) + '...' : q}`);
  console.log(`${per.reduce((s, x) => s + x.n, 0).toFixed(2).padStart(6)}  statements per issuance (N=${opt.n1} and N=${opt.n2}, C=${opt.c}, ${opt.instances} instance(s))`);
} finally {
  await cluster.destroy();
}
