// The floor under any Node ACME server on this machine: a fastify app over node:https (same TLS
// setup as `nixca serve`: ECDSA P-256 certificate, TLS ≥ 1.2) that does no ACME work at all and
// answers every request with a small JSON body and a Replay-Nonce header. Each "flow" is what one
// issuance costs the transport: one TLS connection and R requests (default 10, what an issuance
// takes, see `requests/flow` in the bench output) with ~1 KB JWS-sized bodies. Prints the
// server's CPU-ms per flow, measured like the benchmark (from /proc, server process only).
//   node dist/bench/floor.js [--n 300] [--c 20] [--r 10] [--port 16990]
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSecureContext } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, loadAverage, memoryMiB } from './lib/proc.js';
import { pool } from './lib/flow.js';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    c: { type: 'string', default: '20' },
    r: { type: 'string', default: '10' },
    port: { type: 'string', default: '16990' },
    serve: { type: 'boolean', default: false }, // internal: the child
  },
});
const port = Number(opt.port);

async function serve(): Promise<void> {
  // A throw-away self-signed certificate from our own CA code, like the issuer's own.
  const { createRoot } = await import('../src/ca/root.js');
  const { exportPrivateKeyPem, generateKeyPair } = await import('../src/ca/keys.js');
  const { issueLeaf } = await import('../src/ca/leaf.js');
  const root = await createRoot({ commonName: 'floor', permittedDns: ['localhost'], keyAlgorithm: 'ECDSA-P256', validityDays: 1 });
  const keys = await generateKeyPair('ECDSA-P256');
  const leaf = await issueLeaf({ certificate: root.certificate, privateKey: root.keys.privateKey }, { publicKey: keys.publicKey, dnsNames: ['localhost'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/jose+json', { parseAs: 'string' }, (_req, body, done) => done(null, JSON.parse(body as string)));
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Replay-Nonce', randomBytes(16).toString('base64url'));
    return payload;
  });
  app.get('/*', async () => ({ status: 'valid' }));
  app.post('/*', async () => ({ status: 'valid', identifiers: [{ type: 'dns', value: 'x.bench.test' }] }));
  await app.ready();
  const pem = root.certificate.toString('pem');
  const server = https.createServer({ key: await exportPrivateKeyPem(keys.privateKey), cert: leaf.toString('pem') + '\n' + pem, minVersion: 'TLSv1.2' }, (req, res) => app.routing(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  process.send!({ ready: true, pem });
  process.on('disconnect', () => process.exit(0));
}

async function drive(): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', '--port', String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pem = await new Promise<string>((r) => child.once('message', (m: { pem: string }) => r(m.pem)));
  const secureContext = createSecureContext({ ca: pem });
  const body = JSON.stringify({ protected: randomBytes(200).toString('base64url'), payload: randomBytes(300).toString('base64url'), signature: randomBytes(64).toString('base64url') });
  const flow = async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, secureContext, family: 4 });
    for (let i = 0; i < Number(opt.r); i++) {
      await new Promise<void>((resolve, reject) => {
        const req = https.request({ host: 'localhost', port, path: `/x/${i}`, method: i < 2 ? 'GET' : 'POST', agent, servername: 'localhost', headers: i < 2 ? {} : { 'content-type': 'application/jose+json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(i < 2 ? undefined : body);
      });
    }
    agent.destroy();
  };
  const n = Number(opt.n);
  await pool(Array.from({ length: 20 }), Number(opt.c), flow); // warmup
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = performance.now();
  await pool(Array.from({ length: n }), Number(opt.c), flow);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(child.pid!) - cpu0;
  const mem = memoryMiB(child.pid!);
  console.log(`floor: ${n} flows of 1 TLS connection + ${opt.r} requests at C=${opt.c}: server ${((cpu * 1000) / n).toFixed(2)} CPU-ms/flow, ${(n / wall).toFixed(1)} flows/s, peak RSS ${mem?.peak.toFixed(0)} MB (loadavg ${loadAverage()})`);
  child.disconnect();
}

await (opt.serve ? serve() : drive());
