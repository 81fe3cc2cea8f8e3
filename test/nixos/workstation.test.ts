// Machines that run Nix but not NixOS: the emitted nix.conf fragment, read by real nix 2.8, is all
// the configuration a real `nix copy --from https://…` needs to fetch a signed path from a cache
// behind a real Caddy whose certificate chains to the fleet root (issued by nixca's CA code).
// Loopback only; nothing outside this machine is contacted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createIntermediateRequest, signIntermediate } from '../../src/ca/intermediate.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../src/ca/keys.js';
import { issueLeaf } from '../../src/ca/leaf.js';
import { createRoot } from '../../src/ca/root.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { killGroup, track } from '../interop/helpers.js';
import { buildFleet, emitArgs } from './fleet.js';
import { run, sandboxEnv } from './tools.js';

const NIX = ['--extra-experimental-features', 'nix-command'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`caddy did not listen on ${port}:\n${log()}`);
    await sleep(100);
  }
}

test('nix.conf for Nix without NixOS: nix show-config reads it, and nix copy --from https://… works with only it', { timeout: 180_000 }, async (t) => {
  const dir = await tempDir(t, 'nixca-ws-');
  const env = await sandboxEnv(join(dir, 'sandbox'));
  const fleet = await buildFleet(dir);

  // The fleet root (nixca's CA code), an intermediate, and a leaf for the cache's name.
  const root = await createRoot({ commonName: 'n3x workstation test root', permittedDns: ['localhost', 'n3x.internal', 'bench.test'] });
  const { csr, keys: interKeys } = await createIntermediateRequest({ commonName: 'n3x workstation test intermediate' });
  const inter = await signIntermediate({ certificate: root.certificate, privateKey: root.keys.privateKey }, csr);
  const leafKeys = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const leaf = await issueLeaf({ certificate: inter, privateKey: interKeys.privateKey }, { publicKey: leafKeys.publicKey, dnsNames: ['localhost'], notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
  const rootFile = join(dir, 'fleet-root.pem');
  await writeFile(rootFile, root.certificate.toString('pem'));
  await writeFile(join(dir, 'chain.pem'), leaf.toString('pem') + '\n' + inter.toString('pem') + '\n');
  await writeFile(join(dir, 'leaf.key'), await exportPrivateKeyPem(leafKeys.privateKey), { mode: 0o600 });

  // Emit, then do what the emitted README says for a Debian machine: the system CAs plus root-ca.pem.
  const bundle = join(dir, 'etc-nix', 'nixca-ca-bundle.pem');
  await mkdir(join(dir, 'etc-nix'));
  const out = join(dir, 'out');
  const r = await runCli(emitArgs({ ...fleet, rootPemFile: rootFile }, out, ['--ssl-cert-file', bundle]));
  assert.equal(r.code, 0, r.stderr);
  const readme = await readFile(join(out, 'README.md'), 'utf8');
  assert.ok(readme.includes(`cat /etc/ssl/certs/ca-certificates.crt root-ca.pem > ${bundle}`));
  const system = await readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8').catch(() => '');
  await writeFile(bundle, system + (await readFile(join(out, 'root-ca.pem'), 'utf8')));
  const confDir = join(dir, 'nix-conf');
  await mkdir(confDir);
  await writeFile(join(confDir, 'nix.conf'), await readFile(join(out, 'nix.conf'), 'utf8'));
  const wsEnv = { ...env, NIX_CONF_DIR: confDir };

  // 1. nix's own parser: substituters appended to the default, the fleet's keys, the bundle.
  const shown = await run('nix', [...NIX, 'show-config', '--json'], wsEnv);
  assert.equal(shown.code, 0, shown.stderr);
  // nix 2.8 predates the ssl-cert-file setting: that, and only that, is unknown to it (README step 3).
  const unknown = [...shown.stderr.matchAll(/unknown setting '([^']+)'/g)].map((m) => m[1]);
  const hasSslSetting = unknown.length === 0;
  assert.ok(hasSslSetting || (unknown.length === 1 && unknown[0] === 'ssl-cert-file'), shown.stderr);
  const cfg = JSON.parse(shown.stdout) as Record<string, { value: unknown }>;
  assert.deepEqual(cfg.substituters!.value, ['https://cache.nixos.org/', 'https://cache.ci-1.cloud.n3x.internal?priority=40', 'https://cache.nuc-1.n3x.internal?priority=30', 'https://cache.nuc-2.n3x.internal?priority=35']);
  const keys = cfg['trusted-public-keys']!.value as string[];
  for (const k of Object.values(fleet.pub)) assert.ok(keys.includes(k), k);
  if (hasSslSetting) assert.equal(cfg['ssl-cert-file']!.value, bundle);
  t.diagnostic(hasSslSetting ? 'nix reads ssl-cert-file from the fragment' : 'this nix has no ssl-cert-file setting: the bundle is given as NIX_SSL_CERT_FILE, as README.md step 3 says');
  // The fragment, plus (only for a Nix without the setting) the documented environment variable.
  const trustEnv = hasSslSetting ? wsEnv : { ...wsEnv, NIX_SSL_CERT_FILE: bundle };
  assert.equal(cfg['connect-timeout']!.value, 5);
  assert.equal(cfg.fallback!.value, true);

  // 2. A binary cache signed with nuc-1's active key, served by Caddy over TLS on loopback.
  const hello = join(dir, 'hello.txt');
  await writeFile(hello, 'served by a nixca-certified cache\n');
  const srcStore = join(dir, 'src-store');
  const added = await run('nix', [...NIX, 'store', 'add-file', '--store', srcStore, hello], env);
  assert.equal(added.code, 0, added.stderr);
  const storePath = added.stdout.trim();
  assert.match(storePath, /^\/nix\/store\/[a-z0-9]{32}-hello\.txt$/);
  const secretKey = join(dir, 'k1.sec');
  await writeFile(secretKey, fleet.secrets.nixSecretKeys[0]!, { mode: 0o600 });
  // add-file makes a content-addressed path, which needs no signature at all; a cache serves
  // built (input-addressed) paths, so the CA claim is dropped from the narinfo before signing.
  const cache = join(dir, 'cache');
  const unsigned = join(dir, 'cache-unsigned');
  for (const c of [cache, unsigned]) {
    const up = await run('nix', [...NIX, 'copy', '--from', srcStore, '--to', `file://${c}`, storePath], env);
    assert.equal(up.code, 0, up.stderr);
    const narinfo = join(c, `${storePath.slice('/nix/store/'.length, '/nix/store/'.length + 32)}.narinfo`);
    await writeFile(narinfo, (await readFile(narinfo, 'utf8')).replace(/^CA: .*\n/m, ''));
  }
  const signed = await run('nix', [...NIX, 'store', 'sign', '--store', `file://${cache}`, '--key-file', secretKey, storePath], env);
  assert.equal(signed.code, 0, signed.stderr);
  const port = await freePort();
  const caddyfile = join(dir, 'Caddyfile');
  await writeFile(caddyfile, `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${join(dir, 'caddy-data')}\n}\nhttps://localhost:${port} {\n\tbind 127.0.0.1\n\ttls ${join(dir, 'chain.pem')} ${join(dir, 'leaf.key')}\n\troot * ${cache}\n\tfile_server\n}\n`);
  const caddy = track(spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  let log = '';
  caddy.stdout!.on('data', (d) => (log += d));
  caddy.stderr!.on('data', (d) => (log += d));
  t.after(() => killGroup(caddy));
  await waitForPort(port, () => log);

  // 3. Without the fragment: refused (the root is unknown, the key untrusted).
  const url = `https://localhost:${port}`;
  const none = await run('nix', [...NIX, 'copy', '--from', url, '--to', join(dir, 'dst-none'), storePath], env);
  assert.notEqual(none.code, 0);
  // The bundle without the fragment's keys: TLS passes, the signature does not.
  const noKeys = await run('nix', [...NIX, 'copy', '--from', url, '--to', join(dir, 'dst-nokeys'), storePath], { ...env, NIX_SSL_CERT_FILE: bundle });
  assert.notEqual(noKeys.code, 0);
  assert.match(noKeys.stderr, /lacks a valid signature/);
  // 4. With only the fragment: fetched over verified TLS, signature checked, in the store.
  const dst = join(dir, 'dst-store');
  const copied = await run('nix', [...NIX, 'copy', '--from', url, '--to', dst, storePath], trustEnv);
  assert.equal(copied.code, 0, copied.stderr);
  // Nothing but the loopback cache was contacted (no substituter lookups during a copy).
  assert.doesNotMatch(copied.stderr + none.stderr + noKeys.stderr, /cache\.nixos\.org|n3x\.internal/);
  await access(join(dst, storePath));
  assert.equal(await readFile(join(dst, storePath), 'utf8'), 'served by a nixca-certified cache\n');
  // A cache whose signature no trusted key made is refused with the same configuration.
  const bad = await run('nix', [...NIX, 'copy', '--from', `file://${unsigned}`, '--to', join(dir, 'dst-unsigned'), storePath], trustEnv);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /lacks a valid signature/);
});
