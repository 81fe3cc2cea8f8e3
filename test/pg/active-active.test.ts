// Two real `nixca serve` processes on one PostgreSQL database (a throw-away cluster), behind a
// TCP proxy that alternates connections between them, as a load balancer would:
// - serve refuses a database without the schema; `db migrate` fixes that;
// - a nonce from A is accepted by B, exactly once;
// - 100 concurrent issuances through the proxy: 0 failures;
// - `nixca cert revoke --store` from the CLI shows in B's CRL within 2 s;
// - A is SIGKILLed during 200 concurrent issuances (the proxy then sends everyone to B): every
//   client completes, every received certificate is in the database, no serial or order twice.
// - the database restarts during load: /health answers 503 on both while it is down, both recover
//   by themselves, every client completes, nothing is lost;
// - afterwards every certificate and revocation has its entry in the one audit chain (none had to
//   be recovered) and `nixca audit verify --store` passes.
// Timings are printed; only the 2 s CRL bound is asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { FlattenedSign, generateKeyPair, exportJWK } from 'jose';
import { configureAcmeClient, Http01Responder, pool, prepare, runFlow, splitPem, verifyChain, type FlowOptions } from '../../bench/lib/flow.js';
import { resilientFlow } from '../../bench/lib/resilient.js';
import { BENCH_NODE, DEFAULT_SUFFIX, freePort, startNixca, type NixcaServer } from '../../bench/lib/nixca.js';
import { normalizeSerial } from '../../src/ca/serial.js';
import { spawnCli } from '../helpers/cli.js';
import { opensslVerify, requireTool, run } from '../interop/helpers.js';
import { startTestCluster, type TestCluster } from './cluster.js';

/** Round-robin per connection over the backends that accept; a refused backend is skipped. */
class AlternatingProxy {
  #next = 0;
  /** Send every new connection to this backend only (undefined: alternate). */
  pinned: number | undefined;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  constructor(readonly backends: number[]) {
    this.#server = createServer((client) => this.#route(client, 0));
  }
  #route(client: Socket, tries: number): void {
    const port = this.pinned ?? this.backends[this.#next++ % this.backends.length]!;
    const upstream = connect(port, '127.0.0.1');
    let connected = false;
    this.#sockets.add(client).add(upstream);
    upstream.once('connect', () => {
      connected = true;
      upstream.pipe(client).pipe(upstream);
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      // A backend that refuses (killed): try the next one, as a load balancer's health check would.
      if (!connected && err.code === 'ECONNREFUSED' && tries < this.backends.length) return this.#route(client, tries + 1);
      client.destroy();
    });
    upstream.once('close', () => {
      this.#sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.once('error', () => upstream.destroy());
    client.once('close', () => {
      this.#sockets.delete(client);
      if (connected) upstream.destroy();
    });
  }
  listen(port: number): Promise<void> {
    return new Promise((r) => this.#server.listen(port, '127.0.0.1', () => r()));
  }
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((r) => this.#server.close(() => r()));
  }
}

function get(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

function post(url: string, ca: Buffer, body: string): Promise<{ status: number; json: { type?: string } }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/jose+json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') as { type?: string } }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('two nixca serve instances on one PostgreSQL database', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let url: string;
  let a: NixcaServer;
  let b: NixcaServer;
  let proxy: AlternatingProxy;
  let opts: FlowOptions;
  let ca: Buffer;
  let responder: Http01Responder;
  let stateDir: string;
  const names = Array.from({ length: 321 }, (_, i) => `aa${process.pid}-${i}.${DEFAULT_SUFFIX}`);
  const stops: (() => Promise<unknown>)[] = [];
  // Owned by no node when the instances start (added later from the CLI); resolvable for http-01.
  const LATE = `late${process.pid}.fresh.n3x.internal`;
  const LEGO = `lego${process.pid}.${DEFAULT_SUFFIX}`;
  const CERTBOT = `certbot${process.pid}.${DEFAULT_SUFFIX}`;
  let ports: { a: number; b: number; http01: number };

  before(async () => {
    cluster = await startTestCluster();
    stops.push(() => cluster.destroy());
    url = await cluster.createDatabase('nixca');
    // Generous: CI machines are shared; only the outcome is asserted, never a duration.
    configureAcmeClient(120_000);
    // Four distinct ports, each the kernel's pick (port 0) and free on 127.0.0.1 and ::1.
    const picked = new Set<number>();
    while (picked.size < 4) picked.add(await freePort());
    const [proxyPort, portA, portB, http01Port] = [...picked] as [number, number, number, number];
    ports = { a: portA, b: portB, http01: http01Port };
    // One EAB credential and one client address for every flow here: lift the per-hour account limits.
    const common = ['--store', url, '--base-url', `https://localhost:${proxyPort}/`, '--max-accounts-per-eab', '100000', '--max-accounts-per-ip', '100000'];

    // Without the schema, serve refuses with the command that fixes it (exit code 5, conflict).
    await assert.rejects(startNixca({ port: portA, http01Port, names, logLevel: 'warn', extraArgs: common }), /has no nixca schema: run `nixca db migrate --store 'postgres:/);
    const m = await spawnCli(['db', 'migrate', '--store', url]);
    assert.equal(m.code, 0, m.stderr);

    // The inventory lives in the database: the bench node and its EAB credential go there.
    stateDir = mkdtempSync(join(tmpdir(), 'nixca-aa-'));
    const add = await spawnCli(['node', 'add', BENCH_NODE, '--dns-suffix', DEFAULT_SUFFIX, '--store', url, '--state', stateDir]);
    assert.equal(add.code, 0, add.stderr);
    const eab = await spawnCli(['node', 'eab', BENCH_NODE, '--out', join(stateDir, 'bench.eab.env'), '--store', url, '--state', stateDir]);
    assert.equal(eab.code, 0, eab.stderr);
    a = await startNixca({ port: portA, http01Port, names: [...names, LATE, LEGO, CERTBOT], logLevel: 'warn', stateDir, extraArgs: common });
    stops.push(() => a.stop().then(() => rmSync(stateDir, { recursive: true, force: true })));
    // B: another process on the same database (and, on this one test host, the same issuer state).
    b = await startNixca({ port: portB, http01Port, names: [...names, LATE, LEGO, CERTBOT], logLevel: 'warn', stateDir: a.stateDir, keepState: true, extraArgs: common });
    stops.unshift(() => b.stop({ keepState: true }));
    proxy = new AlternatingProxy([portA, portB]);
    await proxy.listen(proxyPort);
    stops.unshift(() => proxy.close());
    responder = new Http01Responder(http01Port);
    await responder.start();
    stops.unshift(() => responder.close());
    ca = readFileSync(a.target.caFile!);
    opts = { directory: `https://localhost:${proxyPort}/directory`, secureContext: createSecureContext({ ca }), eab: a.target.eab, responder, pollMs: 500, timeoutMs: 60_000 };
  });
  after(async () => {
    for (const s of stops) await s().catch(() => undefined);
  });

  const direct = (s: NixcaServer, path: string) => s.target.directory.replace(/directory$/, path);
  /** Why an instance gave no answer (its process, its log), so a failure explains itself. */
  const explain = (s: NixcaServer, label: string) => `${label}: ${s.describe()}`;

  it('a nonce from A is accepted by B, exactly once', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const nonce = String((await get(direct(a, 'new-nonce'), ca)).headers['replay-nonce']);
    const signed = async (n: string) => JSON.stringify(await new FlattenedSign(new TextEncoder().encode(JSON.stringify({ termsOfServiceAgreed: true })))
      .setProtectedHeader({ alg: 'ES256', jwk, nonce: n, url: opts.directory.replace(/directory$/, 'new-account') })
      .sign(privateKey));
    const atB = await post(direct(b, 'new-account'), ca, await signed(nonce));
    // The request passed the nonce check and failed later, on the missing EAB (§7.3.4).
    assert.equal(atB.json.type, 'urn:ietf:params:acme:error:externalAccountRequired', JSON.stringify(atB.json));
    const again = await post(direct(a, 'new-account'), ca, await signed(nonce));
    assert.equal(again.json.type, 'urn:ietf:params:acme:error:badNonce', 'the same nonce a second time, at A');
  });

  it('a node added and given EAB from the CLI can obtain certificates through both instances without a restart', async () => {
    const name = LATE;
    const add = await spawnCli(['node', 'add', 'late-node', '--dns', name, '--store', url, '--state', stateDir]);
    assert.equal(add.code, 0, add.stderr);
    const eabFile = join(stateDir, 'late.eab.env');
    const eab = await spawnCli(['node', 'eab', 'late-node', '--out', eabFile, '--store', url, '--state', stateDir]);
    assert.equal(eab.code, 0, eab.stderr);
    const env = Object.fromEntries(readFileSync(eabFile, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const late = { ...opts, eab: { kid: env.NIXCA_EAB_KEY_ID!, hmacKey: env.NIXCA_EAB_MAC_KEY! } };
    // Two flows through the alternating proxy: both instances serve the new node's requests.
    const [p1, p2] = await prepare([name, name]);
    for (const p of [p1!, p2!]) {
      const r = await runFlow(p, late);
      assert.ok(r.ok, r.ok ? '' : r.error);
    }
  });

  let revokeSerial = '';
  it('100 concurrent issuances through a proxy alternating between A and B: 0 failures', async (t) => {
    const preps = await prepare(names.slice(0, 100));
    const t0 = Date.now();
    const results = await pool(preps, 100, (p) => runFlow(p, opts));
    t.diagnostic(`100 issuances in ${Date.now() - t0} ms`);
    assert.deepEqual(results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error)), []);
    const root = splitPem(readFileSync(a.target.issuerRoot!, 'utf8')).map((p) => new X509Certificate(p));
    for (const [i, r] of results.entries()) if (r.ok) assert.equal(verifyChain(preps[i]!.name, r.chainPem, preps[i]!.certKeyPem, root), null);
    const first = results[0]!;
    revokeSerial = normalizeSerial(new X509Certificate(splitPem(first.ok ? first.chainPem : '')[0]!).serialNumber);
    const counts = await cluster.sql<{ n: string }>('nixca', 'SELECT count(*) AS n FROM certificates');
    assert.ok(Number(counts[0]!.n) >= 100);
  });

  it('cert revoke from the CLI shows in B\'s CRL within 2 s', async (t) => {
    assert.ok(revokeSerial);
    const r = await spawnCli(['cert', 'revoke', revokeSerial, '--reason', 'keyCompromise', '--state', a.stateDir, '--store', url]);
    assert.equal(r.code, 0, r.stderr);
    const t0 = Date.now();
    let listed = false;
    while (!listed && Date.now() - t0 < 10_000) {
      const crl = await get(direct(b, 'crl'), ca);
      listed = crl.status === 200 && crl.body.toString('hex').includes(revokeSerial.length % 2 ? '0' + revokeSerial : revokeSerial);
      if (!listed) await new Promise((res) => setTimeout(res, 100));
    }
    const ms = Date.now() - t0;
    t.diagnostic(`B's CRL listed the revocation after ${ms} ms`);
    assert.ok(listed, 'B never listed the revocation');
    assert.ok(ms <= 2000, `B listed the revocation only after ${ms} ms`);
  });

  it('real lego obtains a certificate through A, real certbot through B', async () => {
    await requireTool('lego', ['--version']);
    await requireTool('certbot');
    const dir = mkdtempSync(join(tmpdir(), 'nixca-aa-tools-'));
    const root = a.target.issuerRoot!;
    // lego and certbot answer http-01 themselves, on the port the issuers validate.
    await responder.close();
    try {
      proxy.pinned = ports.a;
      const lego = await run('lego', ['--server', opts.directory, '--path', join(dir, 'lego'), '--accept-tos', '--email', 'ops@n3x.internal', '--eab', '--kid', a.target.eab!.kid, '--hmac', a.target.eab!.hmacKey,
        '--domains', LEGO, '--http', '--http.port', `127.0.0.1:${ports.http01}`, 'run'], { env: { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: root }, timeoutMs: 120_000 });
      assert.equal(lego.code, 0, `lego: ${lego.stdout}\n${lego.stderr.slice(-3000)}`);
      await opensslVerify(root, join(dir, 'lego', 'certificates', `${LEGO}.crt`), join(dir, 'lego', 'certificates', `${LEGO}.issuer.crt`));
      proxy.pinned = ports.b;
      const cb = join(dir, 'certbot');
      const certbot = await run('certbot', ['certonly', '--standalone', '--preferred-challenges', 'http', '--http-01-port', String(ports.http01), '--http-01-address', '127.0.0.1',
        '--agree-tos', '--register-unsafely-without-email', '--eab-kid', a.target.eab!.kid, '--eab-hmac-key', a.target.eab!.hmacKey, '-d', CERTBOT, '--cert-name', 'aa',
        '--non-interactive', '--config-dir', join(cb, 'config'), '--work-dir', join(cb, 'work'), '--logs-dir', join(cb, 'logs'), '--server', opts.directory],
      { env: { PATH: process.env.PATH, HOME: dir, REQUESTS_CA_BUNDLE: root }, timeoutMs: 120_000 });
      const log = readFileSync(join(cb, 'logs', 'letsencrypt.log'), 'utf8');
      assert.equal(certbot.code, 0, `certbot: ${certbot.stderr}\n${log.slice(-3000)}`);
      const live = join(cb, 'config', 'live', 'aa');
      await opensslVerify(root, join(live, 'cert.pem'), join(live, 'chain.pem'));
    } finally {
      proxy.pinned = undefined;
      responder = new Http01Responder(ports.http01);
      await responder.start();
      opts.responder = responder;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('A killed with SIGKILL during 200 concurrent issuances: clients finish on B, nothing lost or doubled', async (t) => {
    const preps = await prepare(names.slice(100, 300));
    const t0 = Date.now();
    const clients = pool(preps, 200, (p) => resilientFlow(p, opts, () => Promise.resolve()));
    await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1000));
    await a.kill();
    t.diagnostic(`A killed after ${Date.now() - t0} ms`);
    const results = await clients;
    t.diagnostic(`${results.filter((r) => r.ok).length}/200 issued in ${Date.now() - t0} ms; ${results.filter((r) => r.interruptions > 0).length} clients interrupted`);
    assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error} [${r.trail.slice(-3).join(' | ')}]`), [], 'every client completes its order or a new one');
    const rows = await cluster.sql<{ serial: string; order_id: string; names: string[] }>('nixca', "SELECT serial, order_id, ARRAY(SELECT jsonb_array_elements_text(record->'names')) AS names FROM certificates");
    const bySerial = new Map(rows.map((r) => [r.serial, r]));
    assert.equal(bySerial.size, rows.length, 'no serial twice');
    assert.equal(new Set(rows.map((r) => r.order_id)).size, rows.length, 'no order issued twice');
    const received = new Set<string>();
    for (const r of results) {
      const serial = normalizeSerial(new X509Certificate(splitPem(r.chainPem!)[0]!).serialNumber);
      assert.ok(!received.has(serial), `serial ${serial} given to two clients`);
      received.add(serial);
      assert.deepEqual(bySerial.get(serial)?.names, [r.name], `${r.name}: received certificate ${serial} is not in the database`);
    }
    // A comes back on the same database and issues again.
    await a.restart();
    const [extra] = await prepare([names[300]!]);
    const one = await runFlow(extra!, opts);
    assert.ok(one.ok, one.ok ? '' : one.error);
  });

  it('a database restart during load: 503 on /health while down, recovery by itself, nothing lost', async (t) => {
    const health = async (srv: NixcaServer) => (await get(direct(srv, 'health'), ca).catch(() => ({ status: 0 }))).status;
    const healthy = async () => {
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        if ((await health(a)) === 200 && (await health(b)) === 200) return;
      }
      throw new Error(`the instances did not report healthy again\n${explain(a, 'A')}${explain(b, 'B')}`);
    };
    // A client that meets a server error while the database is away retries after a while, as
    // ACME clients do on 5xx; the resilient flow resumes its order from what the server says.
    let dbUp: Promise<void> = Promise.resolve();
    const client = async (p: Awaited<ReturnType<typeof prepare>>[number]) => {
      let r = await resilientFlow(p, opts, () => dbUp);
      for (let i = 0; i < 5 && !r.ok && /serverInternal|internal server error|status code 5\d\d/i.test(r.error ?? ''); i++) {
        await dbUp;
        r = await resilientFlow(p, opts, () => dbUp);
      }
      return r;
    };
    const preps = await prepare(names.slice(301, 321));
    const clients = pool(preps, 20, client);
    await new Promise((r) => setTimeout(r, 1000));
    let markUp!: () => void;
    dbUp = new Promise((r) => (markUp = r));
    await cluster.stop();
    // Each instance answers 503 while the database is down (a probe that gets no answer under
    // the load is asked again; a 200 fails the test at once).
    const whileDown = async (srv: NixcaServer) => {
      for (let i = 0; i < 20; i++) {
        const code = await health(srv);
        if (code !== 0) return code;
        await new Promise((r) => setTimeout(r, 250));
      }
      return 0;
    };
    const down = [await whileDown(a), await whileDown(b)];
    assert.deepEqual(down, [503, 503], `/health while the database is down\n${down.map((c, i) => (c === 503 ? '' : explain([a, b][i]!, 'AB'[i]!))).join('')}`);
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.start();
    const t0 = Date.now();
    await healthy();
    t.diagnostic(`both instances healthy ${Date.now() - t0} ms after the database came back`);
    markUp();
    const results = await clients;
    assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`), []);
    for (const r of results) {
      const serial = normalizeSerial(new X509Certificate(splitPem(r.chainPem!)[0]!).serialNumber);
      const rows = await cluster.sql<{ n: string }>('nixca', 'SELECT count(*) AS n FROM certificates WHERE serial = $1', [serial]);
      assert.equal(Number(rows[0]!.n), 1, `${r.name}: received certificate ${serial} is not in the database`);
    }
  });

  it('after all of it (SIGKILL, database restart): one audit chain, every certificate and revocation has its entry, audit verify --store passes', async () => {
    // Each record and its entry commit in one transaction: nothing was left for start-up recovery.
    const missing = await cluster.sql<{ serial: string }>('nixca', `SELECT serial FROM certificates c WHERE NOT EXISTS
      (SELECT 1 FROM audit_entries e WHERE e.event = 'certificate.issued' AND e.subject = c.serial)
      UNION ALL SELECT serial FROM revocations r WHERE NOT EXISTS
      (SELECT 1 FROM audit_entries e WHERE e.event = 'certificate.revoked' AND e.subject = r.serial)`);
    assert.deepEqual(missing, []);
    const recovered = await cluster.sql<{ n: string }>('nixca', "SELECT count(*) AS n FROM audit_entries WHERE event = 'audit.recovered'");
    assert.equal(Number(recovered[0]!.n), 0, 'A restarted after SIGKILL and found no record without its entry');
    const v = await spawnCli(['audit', 'verify', '--store', url, '--state', a.stateDir, '--json']);
    assert.equal(v.code, 0, v.stderr + v.stdout.slice(0, 3000));
    const r = JSON.parse(v.stdout) as { entries: number; signers: { certified: boolean; entries: number }[] };
    const certs = await cluster.sql<{ n: string }>('nixca', 'SELECT count(*) AS n FROM certificates');
    assert.ok(r.entries > Number(certs[0]!.n), `${r.entries} entries for ${certs[0]!.n} certificates`);
    assert.ok(r.signers.every((s) => s.certified));
  });
});
