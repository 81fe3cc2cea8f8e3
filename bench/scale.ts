// Cost per issuance with a seeded store vs an empty one (the target: ≤ 1.25×), and peak RSS.
// Runs `dist/bench/run.js --json` alternately without and with `--seed-certs K` (fresh state each
// time, so each run starts a new server), R times each, and prints medians and the ratio.
//   node dist/bench/scale.js [--seed 50000] [--runs 3] [--n 300] [--c 20] [--json]
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage } from './lib/proc.js';

const { values: opt } = parseArgs({
  options: {
    seed: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '3' },
    n: { type: 'string', default: '300' },
    c: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const run = resolve(fileURLToPath(import.meta.url), '../run.js');
interface R {
  ok: number;
  failed: number;
  issuances_per_s: number;
  latency_ms: { p50: number; p95: number };
  server_cpu: { ms_per_issuance: number; peak_rss_mb: number };
  machine: { loadavg_before: string };
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const round = (x: number) => Math.round(x * 100) / 100;
const results: Record<'empty' | 'seeded', R[]> = { empty: [], seeded: [] };
for (let r = 0; r < Number(opt.runs); r++) {
  // Alternate the order so neither configuration always runs on a warmer or quieter machine.
  const order: Array<'empty' | 'seeded'> = r % 2 ? ['seeded', 'empty'] : ['empty', 'seeded'];
  for (const kind of order) {
    const args = [run, '--json', '--n', opt.n!, '--c', opt.c!, ...(kind === 'seeded' ? ['--seed-certs', opt.seed!] : [])];
    const p = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    if (p.status !== 0) console.error(p.stderr.split('\n').filter((l) => !/ done$/.test(l)).join('\n'));
    if (p.status !== 0 && !p.stdout) throw new Error(`run.js failed (${p.status})`);
    const res = JSON.parse(p.stdout) as R;
    results[kind].push(res);
    console.error(`[scale] run ${r + 1} ${kind}: ${res.ok}/${res.ok + res.failed} ok, ${res.server_cpu.ms_per_issuance} CPU-ms/iss, ${res.issuances_per_s}/s, p95 ${res.latency_ms.p95} ms, peak RSS ${res.server_cpu.peak_rss_mb} MB (loadavg ${res.machine.loadavg_before})`);
  }
}
const summary = Object.fromEntries(
  (['empty', 'seeded'] as const).map((k) => [
    k,
    {
      runs: results[k].length,
      failed: results[k].reduce((a, r) => a + r.failed, 0),
      cpu_ms_per_issuance: round(median(results[k].map((r) => r.server_cpu.ms_per_issuance))),
      issuances_per_s: round(median(results[k].map((r) => r.issuances_per_s))),
      p95_ms: round(median(results[k].map((r) => r.latency_ms.p95))),
      peak_rss_mb_max: Math.max(...results[k].map((r) => r.server_cpu.peak_rss_mb)),
    },
  ]),
) as Record<'empty' | 'seeded', { cpu_ms_per_issuance: number; issuances_per_s: number; p95_ms: number; peak_rss_mb_max: number; runs: number; failed: number }>;
const out = { seed_certs: Number(opt.seed), n: Number(opt.n), c: Number(opt.c), loadavg_end: loadAverage(), ...summary, cpu_ratio_seeded_vs_empty: Math.round((summary.seeded.cpu_ms_per_issuance / summary.empty.cpu_ms_per_issuance) * 100) / 100 };
if (opt.json) console.log(JSON.stringify(out, null, 2));
else {
  for (const k of ['empty', 'seeded'] as const) {
    const s = summary[k];
    console.log(`${k.padEnd(7)} (${k === 'seeded' ? opt.seed : 0} certs): median ${s.cpu_ms_per_issuance} CPU-ms/iss, ${s.issuances_per_s} iss/s, p95 ${s.p95_ms} ms, peak RSS max ${s.peak_rss_mb_max} MB, ${s.failed} failed over ${s.runs} runs`);
  }
  console.log(`ratio seeded/empty CPU per issuance: ${out.cpu_ratio_seeded_vs_empty} (target <= 1.25)`);
}
