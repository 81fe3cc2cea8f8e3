// The timed window of a benchmark: N flows at concurrency C (after K warmup flows), with the
// server's CPU and the machine's load read before and after, then every chain verified.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { configureAcmeClient, Http01Responder, percentile, pool, prepare, runFlow, splitPem, verifyChain, type FlowOptions, type FlowResult } from './flow.js';
import { cpuSeconds, CLK_TCK, loadAverage, machineTicks, memoryMiB } from './proc.js';

export interface Target {
  label: string;
  directory: string;
  caFile?: string;
  issuerRoot?: string;
  eab?: { kid: string; hmacKey: string };
  /** PID whose CPU (with descendants) is the server's. */
  pid?: number;
  /** Further issuer processes sharing the load (active-active instances): their CPU is the server's too. */
  extraPids?: readonly number[];
  /** The database server's postmaster (shared store): its CPU and its backends' is reported beside, and added. */
  dbPid?: number;
}

export interface MeasureOptions {
  n: number;
  c: number;
  warmup: number;
  pollMs: number;
  timeoutMs: number;
  httpPort: number;
  namesPrefix: string;
  namesSuffix: string;
  log?: (s: string) => void;
}

export interface BenchResult {
  label: string;
  directory: string;
  n: number;
  c: number;
  warmup: number;
  poll_ms: number;
  ok: number;
  failed: number;
  flow_failed: number;
  verify_failed: number;
  wall_s: number;
  issuances_per_s: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; min: number | null; max: number | null; mean: number | null };
  phase_p50_ms: Record<string, number | null>;
  server_cpu: { seconds: number; ms_per_issuance: number | null; utilisation_cores: number; rss_mb_end: number | null; peak_rss_mb: number | null } | null;
  /** The database server (postmaster and every backend), with --store; null for the embedded store. */
  database_cpu: { seconds: number; ms_per_issuance: number | null; utilisation_cores: number } | null;
  /** Issuer + database CPU per issuance: the figure comparable across stores. */
  total_cpu_ms_per_issuance: number | null;
  driver_cpu: { ms_per_issuance: number | null; utilisation_cores: number; saturated: boolean };
  machine: { loadavg_before: string; busy_cores: number; idle_cores: number; steal_cores: number };
  http: { requests_per_flow: number; polls_per_flow: number; bad_nonce: number; by_status: Record<string, number> };
  validation_requests: number;
  errors: Record<string, number>;
  chain_check: string;
}

const round = (x: number | null | undefined, d = 1): number | null => (x == null || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const normErr = (msg: string) =>
  msg.replace(/\s+/g, ' ').replace(/[A-Za-z0-9_-]{20,}/g, '<tok>').replace(/[0-9a-f]{8,}/gi, '<id>').replace(/\d+/g, 'N').slice(0, 240);

/** The unique DNS names of one run: P-w<i>.S for warmup, P-<i>.S measured. */
export function benchNames(prefix: string, suffix: string, n: number, warmup: number): { warmup: string[]; measured: string[]; all: string[] } {
  const w = Array.from({ length: warmup }, (_, i) => `${prefix}-w${i}.${suffix}`);
  const m = Array.from({ length: n }, (_, i) => `${prefix}-${i}.${suffix}`);
  return { warmup: w, measured: m, all: [...w, ...m] };
}

export async function measure(target: Target, o: MeasureOptions): Promise<BenchResult> {
  const log = o.log ?? (() => undefined);
  configureAcmeClient();
  const responder = new Http01Responder(o.httpPort);
  await responder.start();
  try {
    const isHttps = new URL(target.directory).protocol === 'https:';
    const secureContext = isHttps ? createSecureContext(target.caFile ? { ca: readFileSync(target.caFile) } : {}) : undefined;
    const roots = target.issuerRoot ? splitPem(readFileSync(target.issuerRoot, 'utf8')).map((p) => new X509Certificate(p)) : [];
    const flowOpts: FlowOptions = { directory: target.directory, secureContext, eab: target.eab, responder, pollMs: o.pollMs, timeoutMs: o.timeoutMs };
    const names = benchNames(o.namesPrefix, o.namesSuffix, o.n, o.warmup);
    const t = performance.now();
    const warm = await prepare(names.warmup);
    const preps = await prepare(names.measured);
    log(`prepared ${warm.length + preps.length} account keys + CSRs in ${Math.round(performance.now() - t)} ms`);
    if (warm.length) {
      const w = await pool(warm, o.c, (p) => runFlow(p, flowOpts));
      const bad = w.filter((r): r is Extract<FlowResult, { ok: false }> => !r.ok);
      log(`warmup: ${w.length - bad.length}/${w.length} ok${bad.length ? `; first error: ${bad[0]!.error}` : ''}`);
    }
    responder.served = 0;
    const loadBefore = loadAverage();
    const serverPids = target.pid ? [target.pid, ...(target.extraPids ?? [])] : [];
    const serverCpu = () => serverPids.reduce((a, p) => a + cpuSeconds(p), 0);
    const dbCpu = () => (target.dbPid ? cpuSeconds(target.dbPid) : 0);
    const cpu0 = serverCpu();
    const db0 = dbCpu();
    const m0 = machineTicks();
    const self0 = process.cpuUsage();
    const w0 = performance.now();
    let done = 0;
    const every = Math.max(1, Math.floor(o.n / 10));
    const results = await pool(preps, o.c, async (p) => {
      const r = await runFlow(p, flowOpts);
      done += 1;
      if (done % every === 0) log(`${done}/${o.n} done`);
      return r;
    });
    const wallS = (performance.now() - w0) / 1000;
    const cpu1 = serverCpu();
    const db1 = dbCpu();
    const m1 = machineTicks();
    const self = process.cpuUsage(self0);
    const mem = target.pid ? memoryMiB(target.pid) : undefined;

    // Verification and aggregation happen outside the timed window.
    const errors = new Map<string, number>();
    const addErr = (k: string) => errors.set(k, (errors.get(k) ?? 0) + 1);
    const lat: number[] = [];
    const phases: Record<string, number[]> = {};
    const agg = { requests: 0, polls: 0, badNonce: 0, byStatus: {} as Record<string, number> };
    let flowFailed = 0;
    let verifyFailed = 0;
    results.forEach((r, i) => {
      agg.requests += r.st.requests;
      agg.polls += r.st.polls;
      agg.badNonce += r.st.badNonce;
      for (const [k, v] of Object.entries(r.st.byStatus)) agg.byStatus[k] = (agg.byStatus[k] ?? 0) + v;
      if (!r.ok) {
        flowFailed += 1;
        addErr(normErr(r.error));
        return;
      }
      const v = verifyChain(preps[i]!.name, r.chainPem, preps[i]!.certKeyPem, roots);
      if (v) {
        verifyFailed += 1;
        addErr(`verify: ${normErr(v)}`);
        return;
      }
      lat.push(r.ms);
      for (const [k, ms] of Object.entries(r.st.phases)) (phases[k] ??= []).push(ms);
    });
    lat.sort((a, b) => a - b);
    const ok = lat.length;
    const serverS = cpu1 - cpu0;
    const dbS = db1 - db0;
    const driverS = (self.user + self.system) / 1e6;
    const phaseP50: Record<string, number | null> = {};
    for (const k of ['account', 'order', 'validate', 'finalize', 'download']) phaseP50[k] = round(percentile((phases[k] ?? []).sort((a, b) => a - b), 50));
    return {
      label: target.label,
      directory: target.directory,
      n: o.n,
      c: o.c,
      warmup: o.warmup,
      poll_ms: o.pollMs,
      ok,
      failed: o.n - ok,
      flow_failed: flowFailed,
      verify_failed: verifyFailed,
      wall_s: round(wallS, 3)!,
      issuances_per_s: round(ok / wallS, 2)!,
      latency_ms: {
        p50: round(percentile(lat, 50)),
        p95: round(percentile(lat, 95)),
        p99: round(percentile(lat, 99)),
        min: round(lat[0]),
        max: round(lat[lat.length - 1]),
        mean: round(lat.reduce((a, b) => a + b, 0) / (lat.length || 1)),
      },
      phase_p50_ms: phaseP50,
      server_cpu: target.pid
        ? {
            seconds: round(serverS, 2)!,
            ms_per_issuance: ok ? round((serverS * 1000) / ok, 2) : null,
            utilisation_cores: round(serverS / wallS, 2)!,
            rss_mb_end: round(mem?.rss),
            peak_rss_mb: round(mem?.peak),
          }
        : null,
      database_cpu: target.dbPid ? { seconds: round(dbS, 2)!, ms_per_issuance: ok ? round((dbS * 1000) / ok, 2) : null, utilisation_cores: round(dbS / wallS, 2)! } : null,
      total_cpu_ms_per_issuance: target.pid && ok ? round(((serverS + dbS) * 1000) / ok, 2) : null,
      driver_cpu: { ms_per_issuance: ok ? round((driverS * 1000) / ok, 2) : null, utilisation_cores: round(driverS / wallS, 2)!, saturated: driverS / wallS > 0.9 },
      machine: {
        loadavg_before: loadBefore,
        busy_cores: round((m1.busy - m0.busy) / CLK_TCK / wallS, 2)!,
        idle_cores: round((m1.idle - m0.idle) / CLK_TCK / wallS, 2)!,
        steal_cores: round((m1.steal - m0.steal) / CLK_TCK / wallS, 2)!,
      },
      http: { requests_per_flow: round(agg.requests / o.n, 2)!, polls_per_flow: round(agg.polls / o.n, 2)!, bad_nonce: agg.badNonce, by_status: agg.byStatus },
      validation_requests: responder.served,
      errors: Object.fromEntries([...errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)),
      chain_check: roots.length ? 'anchored at the issuing root' : 'internal consistency only',
    };
  } finally {
    await responder.close();
  }
}

/** The human summary: one block per run. */
export function formatResult(r: BenchResult): string {
  const cpu = r.server_cpu;
  return [
    `${r.label}: N=${r.n} C=${r.c} warmup=${r.warmup} poll=${r.poll_ms}ms  (${r.directory})`,
    `  ok ${r.ok}  failed ${r.failed}${r.failed ? ` (flow ${r.flow_failed}, verify ${r.verify_failed})` : ''}   chains: ${r.chain_check}`,
    `  issuances/s      ${r.issuances_per_s}${r.driver_cpu.saturated ? '  (driver saturated: a lower bound)' : ''}`,
    `  latency ms       p50 ${r.latency_ms.p50}  p95 ${r.latency_ms.p95}  p99 ${r.latency_ms.p99}  (max ${r.latency_ms.max})`,
    `  phases p50 ms    ${Object.entries(r.phase_p50_ms).map(([k, v]) => `${k} ${v}`).join('  ')}`,
    cpu
      ? `  server CPU       ${cpu.ms_per_issuance} ms/issuance  (${cpu.seconds} s, ${cpu.utilisation_cores} cores)   peak RSS ${cpu.peak_rss_mb} MB`
      : '  server CPU       (no server pid: not measured)',
    ...(r.database_cpu ? [`  database CPU     ${r.database_cpu.ms_per_issuance} ms/issuance  (${r.database_cpu.seconds} s, ${r.database_cpu.utilisation_cores} cores)   server+database ${r.total_cpu_ms_per_issuance} ms/issuance`] : []),
    `  driver CPU       ${r.driver_cpu.ms_per_issuance} ms/issuance (${r.driver_cpu.utilisation_cores} cores)   machine busy ${r.machine.busy_cores} / idle ${r.machine.idle_cores} cores, loadavg before ${r.machine.loadavg_before}`,
    `  requests/flow    ${r.http.requests_per_flow}  polls/flow ${r.http.polls_per_flow}  badNonce ${r.http.bad_nonce}  http-01 fetches ${r.validation_requests}`,
    ...Object.entries(r.errors).map(([k, v]) => `  error x${v}: ${k}`),
  ].join('\n');
}
