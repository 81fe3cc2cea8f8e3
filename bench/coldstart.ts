// Cold start of the CLI: wall time of `node dist/cli/main.js --version` and `--help` as real
// processes, K runs each (after 2 unmeasured runs to warm the page cache), median and p90.
//   node dist/bench/coldstart.js [--runs 30] [--json]
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadAverage } from './lib/proc.js';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } } });
const runs = Math.max(1, Number(opt.runs));
const main = resolve(fileURLToPath(import.meta.url), '../../cli/main.js');

function time(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`nixca ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const results: Record<string, { median: number; p90: number; min: number }> = {};
const baseline: number[] = [];
for (const args of [['--version'], ['--help']]) {
  time(args);
  time(args);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(time(args));
  ms.sort((a, b) => a - b);
  results[args.join(' ')] = { median: Math.round(q(ms, 50)), p90: Math.round(q(ms, 90)), min: Math.round(ms[0]!) };
}
// What a bare `node -e 0` costs here: the floor no CLI can go under.
for (let i = 0; i < Math.min(runs, 10); i++) {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  baseline.push(performance.now() - t0);
}
baseline.sort((a, b) => a - b);
const out = { runs, loadavg: loadAverage(), node_bare_median_ms: Math.round(q(baseline, 50)), ...results };
if (opt.json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`cold start over ${runs} runs (loadavg ${out.loadavg}); bare node -e 0: ${out.node_bare_median_ms} ms`);
  for (const [k, v] of Object.entries(results)) console.log(`  nixca ${k.padEnd(10)} median ${v.median} ms  p90 ${v.p90} ms  min ${v.min} ms`);
}
