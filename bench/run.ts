// `npm run bench`: N full ACME issuances at concurrency C against a real `nixca serve` child process
// (fresh state in a temp dir, loopback only), measured from the outside. See docs/performance.md.
//
//   npm run bench -- --n 300 --c 20 [--warmup 10] [--json] [--seed-certs 50000] [--cpu-prof DIR]
//   node dist/bench/run.js --directory URL [--ca-file PEM] [--issuer-root PEM] [--eab-kid K --eab-hmac H]
//        [--server-pid PID]       # any other ACME server (used to validate the harness against Pebble)
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { benchNames, formatResult, measure, type BenchResult, type Target } from './lib/measure.js';
import { DEFAULT_SUFFIX, freePort, startNixca, type NixcaServer } from './lib/nixca.js';
import { openBenchStore, type BenchStore } from './lib/pg.js';
import { RoundRobinProxy } from './lib/proxy.js';

const USAGE = `usage: npm run bench -- [options]
  --n N               measured issuances (default 300)
  --c C               concurrency (default 20)
  --warmup K          unmeasured issuances first (default 10)
  --json              print the result as one JSON object
  --json-out FILE     also write the JSON result to FILE
  --seed-certs K      before starting the server, seed its store with K certificate records
                      (and K/10 accounts) through the store's own API (bench/seed.ts)
  --poll-ms MS        authz/order poll interval (default 100, as ../shared/bench uses)
  --timeout-ms MS     per-flow deadline (default 60000)
  --port P            nixca serve's ACME port (default 16443)
  --http-port P       port the benchmark serves http-01 on (default 16080)
  --state DIR         use (and keep) this state directory instead of a fresh temp dir
  --keep-state        do not delete the temp state directory
  --cpu-prof DIR      run the server under node --cpu-prof, profiles written to DIR on exit
  --directory URL     benchmark another ACME server instead (no server is started)
  --ca-file PEM       trust for --directory's TLS
  --issuer-root PEM   root the issued chains must end at
  --eab-kid K --eab-hmac H   EAB credentials for --directory
  --server-pid PID    the --directory server's PID, for its CPU and RSS
  --label TEXT        label for the output
  --names-suffix S    DNS suffix of the names (default bench.n3x.internal; bench.test with --directory)
  --log-level L       nixca serve's log level (default info, as in production)
  --node-arg=FLAG     extra node flag for the server process (repeatable), e.g. --node-arg=--max-semi-space-size=4
  --store URL|temp    the shared PostgreSQL store (temp: a throw-away cluster started and removed here);
                      the database server's CPU (postmaster + backends, /proc) is reported and added
  --store-password-file F   password for --store over TCP
  --instances K       K nixca serve processes on the shared store behind a round-robin TCP proxy on --port
                      (default 1; K > 1 needs --store); their CPU is summed`;

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    c: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    'json-out': { type: 'string' },
    'seed-certs': { type: 'string', default: '0' },
    'poll-ms': { type: 'string', default: '100' },
    'timeout-ms': { type: 'string', default: '60000' },
    port: { type: 'string', default: '16443' },
    'http-port': { type: 'string', default: '16080' },
    state: { type: 'string' },
    'keep-state': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    directory: { type: 'string' },
    'ca-file': { type: 'string' },
    'issuer-root': { type: 'string' },
    'eab-kid': { type: 'string' },
    'eab-hmac': { type: 'string' },
    'server-pid': { type: 'string' },
    label: { type: 'string' },
    'names-suffix': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'node-arg': { type: 'string', multiple: true },
    store: { type: 'string' },
    'store-password-file': { type: 'string' },
    instances: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (k: keyof typeof opt, min: number): number => {
  const v = Number(opt[k]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`bench: --${k} must be an integer >= ${min}`);
    process.exit(2);
  }
  return v;
};
const n = int('n', 1);
const c = int('c', 1);
const warmup = int('warmup', 0);
const seedCerts = int('seed-certs', 0);
const log = (s: string) => console.error(`[bench] ${s}`);
const namesPrefix = `b${randomBytes(3).toString('hex')}`;
const namesSuffix = opt['names-suffix'] ?? (opt.directory ? 'bench.test' : DEFAULT_SUFFIX);

let server: NixcaServer | undefined;
const others: NixcaServer[] = [];
let proxy: RoundRobinProxy | undefined;
let db: BenchStore | undefined;
let target: Target;
const instances = int('instances', 1);
if (instances > 1 && !opt.store) {
  console.error('bench: --instances > 1 needs --store (the embedded store has one writer)');
  process.exit(2);
}
if (opt.store && seedCerts) {
  console.error('bench: --seed-certs seeds the embedded store only');
  process.exit(2);
}
if (opt.directory) {
  target = {
    label: opt.label ?? 'external',
    directory: opt.directory,
    caFile: opt['ca-file'],
    issuerRoot: opt['issuer-root'],
    eab: opt['eab-kid'] && opt['eab-hmac'] ? { kid: opt['eab-kid'], hmacKey: opt['eab-hmac'] } : undefined,
    pid: opt['server-pid'] ? Number(opt['server-pid']) : undefined,
  };
} else {
  if (opt.store) db = await openBenchStore(opt.store, opt['store-password-file'], log);
  const port = int('port', 1);
  // Several instances: each on its own free port, the proxy on --port; every URL the issuers
  // hand out names the proxy (--base-url), as behind a load balancer.
  const ports = instances > 1 ? await Promise.all(Array.from({ length: instances }, () => freePort(20000, 29999))) : [port];
  const common = {
    http01Port: int('http-port', 1),
    seedCerts,
    cpuProfDir: opt['cpu-prof'],
    names: benchNames(namesPrefix, namesSuffix, n, warmup).all,
    namesSuffix,
    logLevel: opt['log-level'],
    nodeArgs: opt['node-arg'],
    log,
    ...(db ? { store: db.store } : {}),
    extraArgs: instances > 1 ? ['--base-url', `https://localhost:${port}/`] : [],
  };
  server = await startNixca({ ...common, port: ports[0]!, stateDir: opt.state, keepState: opt['keep-state'] || Boolean(opt.state) });
  for (const p of ports.slice(1)) others.push(await startNixca({ ...common, port: p, stateDir: server.stateDir, keepState: true }));
  if (instances > 1) {
    proxy = new RoundRobinProxy(ports);
    await proxy.listen(port);
  }
  const kind = db ? `PostgreSQL${instances > 1 ? `, ${instances} instances` : ''}` : 'embedded';
  target = {
    ...server.target,
    directory: `https://localhost:${port}/directory`,
    extraPids: others.map((o) => o.pid),
    ...(db?.dbPid ? { dbPid: db.dbPid } : {}),
    label: opt.label ?? (seedCerts ? `nixca (${seedCerts} seeded)` : `nixca (${kind})`),
  };
}

let result: BenchResult;
const stop = async () => {
  await proxy?.close();
  for (const o of others) await o.stop({ keepState: true });
  if (server) await server.stop();
  await db?.close();
};
process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
process.once('SIGTERM', () => void stop().finally(() => process.exit(143)));
try {
  result = await measure(target, {
    n,
    c,
    warmup,
    pollMs: int('poll-ms', 1),
    timeoutMs: int('timeout-ms', 1),
    httpPort: int('http-port', 1),
    namesPrefix,
    namesSuffix,
    log,
  });
} finally {
  await stop();
}
const out = { ...result, seeded_certs: seedCerts, server_log: server?.logFile ?? null, node: process.version };
if (opt['json-out']) writeFileSync(opt['json-out'], JSON.stringify(out, null, 2) + '\n');
if (opt.json) console.log(JSON.stringify(out, null, 2));
else console.log(formatResult(result));
process.exitCode = result.failed === 0 ? 0 : 1;
