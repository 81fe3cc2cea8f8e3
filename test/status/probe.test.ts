// `nixca status --probe` against real Caddy 2.6.2 on loopback: three sites with certificates from a
// throw-away CA (src/ca), reverse-proxying to a stand-in binary cache (a node http server that
// serves /nix-cache-info and a narinfo signed per Host). One good node, one serving a certificate
// this issuer never recorded, one signing with a key that is not published.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:tls';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openInventoryStore } from '../../src/store/inventory.js';
import { generateKeyPair as nixKeyPair, parseSecretKey, type KeyPair } from '../../src/signing/keys.js';
import { parseNarInfo, serializeNarInfo, signNarInfo } from '../../src/signing/narinfo.js';
import { freePorts, runCli, tempDir } from '../helpers/cli.js';
import { testPki } from '../audit/pki.js';
import { issueInto } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services. DOWN: nothing listens.
const [CACHE_PORT, HTTP_PORT, GOOD, UNKNOWN, BADKEY, DOWN] = (await freePorts(6)) as [number, number, number, number, number, number];
const PORTS = { good: GOOD, unknown: UNKNOWN, badkey: BADKEY } as const;
type Node = keyof typeof PORTS;
const host = (n: Node) => `cache.${n}.n3x.test`;
const HASH = '0jqd0rlxzra1rs38rdxl43yh6rxchgc6';
const STORE_PATH = `/nix/store/${HASH}-hello-2.12`;

let state = '';
let rootFile = '';
let caddy: ChildProcess | undefined;
let caddyLog = '';
let cache: Server | undefined;
const serial: Partial<Record<Node, string>> = {};

function narinfoSignedBy(kp: KeyPair): string {
  const unsigned = [
    `StorePath: ${STORE_PATH}`,
    `URL: nar/${HASH}.nar`,
    'Compression: none',
    'NarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0',
    'NarSize: 196040',
    'References: ',
    '',
  ].join('\n');
  return serializeNarInfo(signNarInfo(parseNarInfo(unsigned), [parseSecretKey(kp.secretKey)]).narinfo);
}

function waitForTls(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ host: '127.0.0.1', port, servername: host('good'), rejectUnauthorized: false });
      s.once('secureConnect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`caddy did not listen on ${port}:\n${caddyLog}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

before(async () => {
  state = await mkdtemp(join(tmpdir(), 'nixca-probe-'));
  const pki = await testPki(['n3x.test']);
  rootFile = join(state, 'root.pem');
  await writeFile(rootFile, pki.root.toString('pem'));
  const S = ['--state', state];
  const keys: Record<string, KeyPair> = {};
  for (const n of Object.keys(PORTS) as Node[]) {
    const r = await runCli(['node', 'add', n, '--dns', host(n), ...S]);
    assert.equal(r.code, 0, r.stderr);
    keys[n] = nixKeyPair(`${host(n)}-1`);
  }
  // What the cache of `badkey` signs with: a key the inventory never published.
  const rogue = nixKeyPair(`${host('badkey')}-9`);
  const inv = await openInventoryStore(state);
  await inv.update((d) => {
    for (const n of Object.keys(PORTS) as Node[]) {
      d.signingKeys.push({ name: keys[n]!.name, node: n, publicKey: keys[n]!.publicKey, secretKeyPath: null, origin: 'generated', state: 'active', history: [] });
    }
  });
  const signer: Record<string, KeyPair> = { [host('good')]: keys.good!, [host('unknown')]: keys.unknown!, [host('badkey')]: rogue };

  // Certificates: recorded in the ACME store for every node; `unknown` serves another one.
  const sites: string[] = [];
  for (const n of Object.keys(PORTS) as Node[]) {
    const recorded = await issueInto(state, pki, n, [host(n)]);
    const served = n === 'unknown' ? await issueInto(state, pki, n, [host(n)], { record: false }) : recorded;
    serial[n] = served.serial;
    const crt = join(state, `${n}.crt`);
    const key = join(state, `${n}.key`);
    await writeFile(crt, served.chainPem);
    await writeFile(key, served.keyPem, { mode: 0o600 });
    sites.push(`https://${host(n)}:${PORTS[n]} {\n\tbind 127.0.0.1\n\ttls ${crt} ${key}\n\treverse_proxy 127.0.0.1:${CACHE_PORT}\n}\n`);
  }

  cache = createServer((req, res) => {
    const h = String(req.headers.host ?? '').replace(/:\d+$/, '');
    const kp = signer[h];
    if (!kp) return void res.writeHead(421).end();
    if (req.url === '/nix-cache-info') return void res.writeHead(200, { 'content-type': 'text/x-nix-cache-info' }).end('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n');
    if (req.url === `/${HASH}.narinfo`) return void res.writeHead(200, { 'content-type': 'text/x-nix-narinfo' }).end(narinfoSignedBy(kp));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => cache!.listen(CACHE_PORT, '127.0.0.1', r));

  const caddyfile = join(state, 'Caddyfile');
  await writeFile(caddyfile, `{\n\tadmin off\n\tskip_install_trust\n\thttp_port ${HTTP_PORT}\n\tauto_https disable_redirects\n\tstorage file_system ${join(state, 'caddy-data')}\n}\n\n${sites.join('\n')}`);
  caddy = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH, HOME: state, XDG_DATA_HOME: join(state, 'xdg-data'), XDG_CONFIG_HOME: join(state, 'xdg-config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  caddy.stdout!.on('data', (d) => (caddyLog += d));
  caddy.stderr!.on('data', (d) => (caddyLog += d));
  const deadline = Date.now() + 15_000;
  for (const p of Object.values(PORTS)) await waitForTls(p, deadline);
});

after(async () => {
  if (caddy && caddy.exitCode === null) {
    const exited = new Promise((r) => caddy!.once('exit', r));
    caddy.kill('SIGTERM');
    await exited;
  }
  await new Promise((r) => cache?.close(r));
  if (state) await rm(state, { recursive: true, force: true });
});

const resolveArgs = () => (Object.keys(PORTS) as Node[]).flatMap((n) => ['--resolve', `${host(n)}=127.0.0.1:${PORTS[n]}`]);

test('status --probe through Caddy: the good node passes, an unknown certificate and an unpublished signing key are errors', async () => {
  const r = await runCli(['status', '--probe', '--root', rootFile, ...resolveArgs(), '--probe-path', STORE_PATH, '--state', state, '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^nixca: 2 node\(s\) with problems \(badkey, unknown\)/);
  const report = JSON.parse(r.stdout) as { ok: boolean; probe: { node: string; served: { serial: string; match: string; chainValid: boolean }; cacheInfo: { ok: boolean; priority: number }; narinfo: { storePath: string; signatures: { keyName: string; finding: string }[] }; problems: { severity: string; code: string }[] }[] };
  assert.equal(report.ok, false);
  const by = Object.fromEntries(report.probe.map((p) => [p.node, p]));

  assert.equal(by.good!.served.serial, serial.good);
  assert.equal(by.good!.served.match, 'current');
  assert.equal(by.good!.served.chainValid, true);
  assert.deepEqual(by.good!.cacheInfo, { ok: true, storeDir: '/nix/store', priority: 30, detail: 'ok' });
  assert.equal(by.good!.narinfo.storePath, STORE_PATH);
  assert.deepEqual(by.good!.narinfo.signatures, [{ keyName: `${host('good')}-1`, finding: 'valid' }]);
  assert.deepEqual(by.good!.problems, []);

  assert.equal(by.unknown!.served.serial, serial.unknown);
  assert.equal(by.unknown!.served.match, 'unknown');
  assert.deepEqual(by.unknown!.problems.map((p) => p.code), ['served-unknown']);

  assert.equal(by.badkey!.served.match, 'current');
  assert.deepEqual(by.badkey!.narinfo.signatures, [{ keyName: `${host('badkey')}-9`, finding: 'unpublished-key' }]);
  assert.deepEqual(by.badkey!.problems.map((p) => p.code).sort(), ['no-valid-signature', 'signs-unpublished']);
});

test('status --probe trusts only the given root: a different root makes every chain invalid', async (t) => {
  const other = await testPki(['n3x.test']);
  const f = join(await tempDir(t), 'other-root.pem');
  await writeFile(f, other.root.toString('pem'));
  const r = await runCli(['status', '--probe', '--root', f, ...resolveArgs(), '--probe-path', HASH, '--state', state, '--json']);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as { probe: { served: { chainValid: boolean; chainError: string }; narinfo: unknown; problems: { code: string }[] }[] };
  for (const p of report.probe) {
    assert.equal(p.served.chainValid, false);
    assert.match(p.served.chainError, /UNABLE_TO_GET_ISSUER_CERT|unable to get/i);
    assert.ok(p.problems.some((x) => x.code === 'served-untrusted'));
    // Nothing is fetched over a connection that is not trusted.
    assert.equal(p.narinfo, null);
  }
});

test('status --probe exits 0 when every remaining node is healthy; unreachable nodes are errors', async () => {
  const S = ['--state', state];
  const text = await runCli(['status', '--probe', '--root', rootFile, ...resolveArgs(), '--probe-path', HASH, ...S]);
  assert.match(text.stdout, new RegExp(`probe cache\\.good\\.n3x\\.test @ 127\\.0\\.0\\.1:${PORTS.good}: serves [0-9a-f]+ \\(current, chain ok`));
  assert.match(text.stdout, /ERROR: signs with key cache\.badkey\.n3x\.test-9, which is not published to clients/);
  const down = await runCli(['status', '--probe', '--root', rootFile, '--resolve', `${host('good')}=127.0.0.1:${DOWN}`, '--resolve', `${host('unknown')}=127.0.0.1:${PORTS.unknown}`, '--resolve', `${host('badkey')}=127.0.0.1:${PORTS.badkey}`, '--timeout', '2s', '--json', ...S]);
  assert.equal(down.code, 1);
  assert.ok(JSON.parse(down.stdout).probe.find((p: { node: string }) => p.node === 'good').problems.some((x: { code: string }) => x.code === 'unreachable'));
  for (const n of ['unknown', 'badkey']) assert.equal((await runCli(['node', 'remove', n, ...S])).code, 0);
  const ok = await runCli(['status', '--probe', '--root', rootFile, ...resolveArgs(), '--probe-path', HASH, ...S, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.ok, true);
  // The removed node's still-valid certificates are listed for revocation.
  assert.equal(report.orphanCertificates.length, 2);
});
