// Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): self time by function, by
// file/package, and inclusive time of the functions given with --focus.
//   node dist/bench/prof.js DIR/CPU.*.cpuprofile [--top 30] [--focus name,name]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, focus: { type: 'string' }, other: { type: 'boolean', default: false } } });
const top = Number(opt.top);

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from the sample timeline (more exact than hitCount × interval).
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const where = (n: Node) => {
    const u = n.callFrame.url;
    if (!u) return `(${n.callFrame.functionName || 'native'})`;
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
    if (m) return m[1]!;
    if (u.startsWith('node:')) return u;
    const d = /\/dist\/(.*)$/.exec(u);
    return d ? d[1]! : u;
  };
  const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${where(n)}:${n.callFrame.lineNumber + 1}`;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    add(fnSelf, label(n), us);
    add(fileSelf, where(n), us);
  }
  // Inclusive time of focus functions: each sample counts once per focus name on its stack.
  const focus = (opt.focus ?? '').split(',').filter(Boolean);
  const incl = new Map<string, number>();
  if (focus.length) {
    p.samples.forEach((id, i) => {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const fn = byId.get(cur)!.callFrame.functionName;
        for (const f of focus) if (fn === f && !seen.has(f)) seen.add(f);
      }
      for (const f of seen) add(incl, f, p.timeDeltas[i + 1] ?? 0);
    });
  }
  // Inclusive time of each function of ours (dist/src, dist/cli) and of each library entry point
  // called from our code: where the time goes, by the code that asked for it.
  const oursIncl = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const seen = new Set<string>();
    let prevOurs = true;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const isOurs = /\/dist\/(src|cli)\//.test(n.callFrame.url);
      if (isOurs) seen.add(label(n));
      prevOurs = isOurs;
    }
    void prevOurs;
    for (const k of seen) add(oursIncl, k, p.timeDeltas[i + 1] ?? 0);
  });
  // Where the time goes, by category: the first rule that matches any frame of the sample's stack.
  const rules: Array<[string, (labels: string[]) => boolean]> = [
    ['idle', (l) => l[0]!.startsWith('(idle)')],
    ['garbage collector', (l) => l[0]!.startsWith('(garbage collector)')],
    ['finalize: CSR checks, leaf signing, issued-cert checks', (l) => l.some((x) => x.startsWith('finalizeOrder '))],
    ['JWS verification (+EAB)', (l) => l.some((x) => /^(verifyAcmeJws|verifyEab) /.test(x))],
    ['logging (pino)', (l) => l.some((x) => / (pino|sonic-boom):/.test(x))],
    ['store (append, fdatasync, reads)', (l) => l.some((x) => / src\/store\//.test(x))],
    ['http-01 validation (outgoing HTTP)', (l) => l.some((x) => / src\/acme\/(http-01|validation)\.js/.test(x))],
    ['TLS (handshakes, records)', (l) => l.some((x) => / node:(_tls_wrap|tls|internal\/tls)/.test(x))],
    ['HTTP server + fastify routing/hooks', (l) => l.some((x) => / (fastify|find-my-way|avvio|light-my-request|node:_http_server|node:_http_incoming|node:_http_outgoing|node:_http_common|src\/acme\/http\/)/.test(x))],
    ['ACME core (other)', (l) => l.some((x) => / src\/acme\//.test(x))],
    ['startup (module loading)', (l) => l.some((x) => / node:internal\/modules\//.test(x))],
    ['(program): native, not attributed by V8', (l) => l[0]!.startsWith('(program)')],
  ];
  const cats = new Map<string, number>();
  const otherSelf = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const labels: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) labels.push(label(byId.get(cur)!));
    const cat = rules.find(([, f]) => f(labels))?.[0] ?? 'other (node internals, timers, sockets)';
    add(cats, cat, p.timeDeltas[i + 1] ?? 0);
    if (!rules.some(([, f]) => f(labels))) add(otherSelf, `${labels[0]}  <  ${labels.slice(1, 4).join(' < ')}`, p.timeDeltas[i + 1] ?? 0);
  });
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`;
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled over ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s`);
  console.log('\nby category (all samples, idle included):');
  for (const [k, v] of sorted(cats)) console.log(`  ${pct(v)}  ${k}`);
  if (opt.other) {
    console.log('\nuncategorised samples, by leaf frame < callers:');
    for (const [k, v] of sorted(otherSelf).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
  }
  console.log('\nself time by file / package:');
  for (const [k, v] of sorted(fileSelf).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
  console.log('\nself time by function:');
  for (const [k, v] of sorted(fnSelf).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
  console.log('\ninclusive time of our functions:');
  for (const [k, v] of sorted(oursIncl).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
  if (focus.length) {
    console.log('\ninclusive time:');
    for (const f of focus) console.log(`  ${pct(incl.get(f) ?? 0)}  ${f}`);
  }
}
