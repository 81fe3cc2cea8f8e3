// Embedded store vs the shared PostgreSQL store (1 and K instances), interleaved and repeated in
// one invocation so that every ratio compares runs made under the same machine load. Each PG run
// gets its own throw-away cluster (--store temp). Prints a Markdown table (docs/performance.md).
//
//   node dist/bench/store-compare.js [--n 300] [--c 20] [--rounds 2] [--instances 2]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchResult } from './lib/measure.js';
import { freePort } from './lib/nixca.js';

const { values: opt } = parseArgs({ options: { n: { type: 'string', default: '300' }, c: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' }, instances: { type: 'string', default: '2' } } });
const RUN = resolve(fileURLToPath(import.meta.url), '../run.js');
const dir = mkdtempSync(join(tmpdir(), 'nixca-store-compare-'));
const kinds = [
  { label: 'embedded', args: [] as string[] },
  { label: 'PostgreSQL, 1 instance', args: ['--store', 'temp'] },
  { label: `PostgreSQL, ${opt.instances} instances`, args: ['--store', 'temp', '--instances', opt.instances] },
];
const rows: { round: number; label: string; r: BenchResult }[] = [];
for (let round = 1; round <= Number(opt.rounds); round++) {
  for (const k of kinds) {
    const out = join(dir, `${round}-${rows.length}.json`);
    const ports = [String(await freePort(20000, 29999)), String(await freePort(20000, 29999))];
    console.error(`[compare] round ${round}: ${k.label}`);
    const p = spawnSync(process.execPath, [RUN, '--n', opt.n, '--c', opt.c, '--port', ports[0]!, '--http-port', ports[1]!, '--log-level', 'warn', '--json-out', out, ...k.args], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (p.status !== 0 && p.status !== 1) throw new Error(`bench exited ${p.status}`);
    rows.push({ round, label: k.label, r: JSON.parse(readFileSync(out, 'utf8')) as BenchResult });
  }
}
rmSync(dir, { recursive: true, force: true });
const f = (x: number | null | undefined) => (x == null ? '-' : String(x));
console.log(`N=${opt.n} C=${opt.c}; ratio = (server + database CPU per issuance) / the embedded run of the same round\n`);
console.log('| round | store | ok | issuances/s | p50 ms | issuer CPU ms/iss. | database CPU ms/iss. | total ms/iss. | ratio | machine busy cores |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const { round, label, r } of rows) {
  const base = rows.find((x) => x.round === round && x.label === 'embedded')!.r.total_cpu_ms_per_issuance!;
  const total = r.total_cpu_ms_per_issuance;
  console.log(`| ${round} | ${label} | ${r.ok}/${r.n} | ${r.issuances_per_s} | ${f(r.latency_ms.p50)} | ${f(r.server_cpu?.ms_per_issuance)} | ${f(r.database_cpu?.ms_per_issuance)} | ${f(total)} | ${total && base ? (total / base).toFixed(2) : '-'} | ${r.machine.busy_cores} |`);
}
