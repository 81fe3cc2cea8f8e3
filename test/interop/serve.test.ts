// `nixca serve` as a real process: the --dev main job (first run creates a labelled development
// PKI and prints next steps, second run reuses it), its own HTTPS certificate (verified by openssl
// against the root, renewed and hot-swapped without a restart), graceful SIGTERM, and flag errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { caddyGlobalOptions } from '../../cli/dev-caddy.js';
import { NIXCA_BIN, runCli, spawnCli, freePorts, tempDir } from '../helpers/cli.js';
import { httpsGet, killGroup, requireTool, run, startIssuer, track } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, NO_ISSUER_PORT, PROD_PORT, REFUSED_PORT, CADDY_HTTP, CADDY_HTTPS] = (await freePorts(6)) as [number, number, number, number, number, number];

describe('nixca serve --dev (the main job)', { timeout: 120_000 }, () => {
  it('creates a development PKI once, prints next steps, serves verified HTTPS, renews its own certificate, stops on SIGTERM', async (t) => {
    await requireTool('openssl', ['version']);
    await requireTool('caddy', ['version']);
    const dir = await tempDir(t, 'nixca-serve-');
    const state = join(dir, 'nixca-state');
    const issuer = await startIssuer(t, { state, port: PORT, http01Port: CADDY_HTTP, tlsAlpn01Port: CADDY_HTTPS, names: [], extraArgs: ['--tls-lifetime', '6s'] });

    // Next steps on stdout: directory URL, root path, EAB env file and a Caddyfile block using them.
    const out = issuer.log();
    assert.match(out, /created a DEVELOPMENT PKI/);
    assert.ok(out.includes(`ACME directory:    https://localhost:${PORT}/directory`), out);
    assert.ok(out.includes(`root certificate:  ${join(state, 'issuer', 'root.pem')}`), out);
    assert.ok(out.includes(`EAB env file:      ${join(state, 'nuc-1.eab.env')}`), out);
    // The Caddyfile: global options on exactly the ports this issuer validates, which caddy accepts.
    const options = caddyGlobalOptions({ directory: `https://localhost:${PORT}/directory`, rootPath: join(state, 'issuer', 'root.pem'), httpPort: CADDY_HTTP, httpsPort: CADDY_HTTPS });
    const printed = `${options}\n\ncache.nuc-1.n3x.internal {\n\treverse_proxy 127.0.0.1:5000\n}\n`;
    assert.ok(out.includes(printed), out);
    assert.match(options, new RegExp(`\thttp_port ${CADDY_HTTP}\n\thttps_port ${CADDY_HTTPS}\n`));
    assert.doesNotMatch(out, /need root or CAP_NET_BIND_SERVICE/, 'both ports are above 1024');
    const caddyfile = join(dir, 'Caddyfile');
    await writeFile(caddyfile, printed);
    const adapted = await run('caddy', ['adapt', '--config', caddyfile, '--adapter', 'caddyfile', '--validate'], { timeoutMs: 20_000, env: { PATH: process.env.PATH!, HOME: dir, NIXCA_EAB_KEY_ID: 'kid', NIXCA_EAB_MAC_KEY: 'mac' } });
    assert.equal(adapted.code, 0, adapted.stdout + adapted.stderr);
    const json = JSON.parse(adapted.stdout);
    assert.equal(json.apps.http.http_port, CADDY_HTTP);
    assert.equal(json.apps.http.https_port, CADDY_HTTPS);
    assert.deepEqual(json.apps.tls.automation.policies[0].issuers[0], { ca: `https://localhost:${PORT}/directory`, external_account: { key_id: 'kid', mac_key: 'mac' }, module: 'acme', trusted_roots_pem_files: [join(state, 'issuer', 'root.pem')] });
    // stdout is not a terminal: the log is JSON, with one "listening on …, directory …" record.
    const listening = out.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as { msg: string }).filter((r) => /^listening on/.test(r.msg));
    assert.deepEqual(listening.map((r) => r.msg), [`listening on 127.0.0.1:${PORT}, directory https://localhost:${PORT}/directory`]);
    assert.match(out, /cache\.nuc-1\.n3x\.internal \{/);

    // Files: the labelled root, the encrypted intermediate key (0600), the EAB env file (0600).
    const rootText = await run('openssl', ['x509', '-in', join(state, 'issuer', 'root.pem'), '-noout', '-subject'], { timeoutMs: 10_000 });
    assert.match(rootText.stdout, /DEVELOPMENT root - not for production/);
    assert.match(await readFile(join(state, 'issuer', 'intermediate.key.pem'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal((await stat(join(state, 'issuer', 'intermediate.key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(state, 'nuc-1.eab.env'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(state, 'nuc-1.eab.env'), 'utf8'), /^NIXCA_EAB_KEY_ID=.+\nNIXCA_EAB_MAC_KEY=[A-Za-z0-9_-]{43}\n$/);
    // No secret in the output.
    const mac = /NIXCA_EAB_MAC_KEY=(.*)/.exec(await readFile(join(state, 'nuc-1.eab.env'), 'utf8'))![1]!;
    assert.ok(!out.includes(mac), 'the EAB MAC key is never printed or logged');

    // The directory over HTTPS, verified by openssl against the development root (name: localhost).
    const sc = await run('openssl', ['s_client', '-connect', `127.0.0.1:${PORT}`, '-servername', 'localhost', '-verify_hostname', 'localhost', '-CAfile', issuer.rootPath, '-verify_return_error', '-brief'], { timeoutMs: 10_000, input: 'Q\n' });
    assert.equal(sc.code, 0, sc.stdout + sc.stderr);
    assert.match(sc.stdout + sc.stderr, /Verification: OK/);
    const ca = await readFile(issuer.rootPath, 'utf8');
    const dirDoc = await httpsGet(issuer.directory, ca);
    assert.equal(dirDoc.status, 200);
    assert.equal(JSON.parse(dirDoc.body).meta.externalAccountRequired, true);

    // Its own certificate is renewed at 2/3 of its lifetime (6 s here) and hot-swapped.
    const before = dirDoc.peerSerial;
    await sleep(5500);
    const after = await httpsGet(issuer.directory, ca);
    assert.equal(after.status, 200);
    assert.notEqual(after.peerSerial, before, 'a new TLS certificate without a restart');
    assert.match(issuer.log(), /renewed the issuer TLS certificate/);

    assert.equal(await issuer.stop('SIGTERM'), 0, 'graceful stop exits 0');
    assert.match(issuer.log(), /shutting down/);

    // A fresh serve --dev leaves an audit log that audit verify accepts (the key is certified).
    const verified = await runCli(['audit', 'verify', '--state', state, '--json']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal(JSON.parse(verified.stdout).signer.certified, true);

    // Second run, on a terminal (a pty from script(1)): same state, same root, no new PKI, and the
    // log is one readable line per record instead of JSON.
    await requireTool('script', ['--version']);
    const rootBefore = await readFile(join(state, 'issuer', 'root.pem'), 'utf8');
    const cmd = [process.execPath, NIXCA_BIN, 'serve', '--dev', '--state', state, '--listen', `127.0.0.1:${PORT}`, '--http01-port', String(CADDY_HTTP), '--tls-alpn01-port', String(CADDY_HTTPS)];
    const tty = track(spawn('script', ['-qfec', cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'dumb' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    t.after(() => killGroup(tty));
    let ttyOut = '';
    tty.stdout!.on('data', (d) => (ttyOut += d));
    tty.stderr!.on('data', (d) => (ttyOut += d));
    for (let i = 0; i < 300 && !/listening on/.test(ttyOut) && tty.exitCode === null; i++) await sleep(100);
    assert.match(ttyOut, /reusing the DEVELOPMENT PKI/);
    assert.match(ttyOut, new RegExp(`^\\d\\d:\\d\\d:\\d\\d INFO  listening on 127\\.0\\.0\\.1:${PORT}, directory https://localhost:${PORT}/directory `, 'm'), ttyOut);
    assert.doesNotMatch(ttyOut, /^\{"level"/m, 'no JSON records on a terminal');
    assert.equal(await readFile(join(state, 'issuer', 'root.pem'), 'utf8'), rootBefore);
    killGroup(tty);
  });
});

describe('nixca serve flag and state errors', () => {
  it('rejects bad flags with exit 2 and one line on stderr', async () => {
    for (const args of [
      ['serve', '--listen', 'nonsense', '--state', '/nonexistent'],
      ['serve', '--eab', 'maybe', '--state', '/nonexistent'],
      ['serve', '--http01-port', '0', '--state', '/nonexistent'],
      ['serve', '--leaf-lifetime', 'soon', '--state', '/nonexistent'],
      ['serve', '--resolve', 'a.n3x.internal', '--state', '/nonexistent'],
      ['serve', '--listen', '0.0.0.0:8443', '--state', '/nonexistent'],
      ['serve', '--no-crl', '--crl-url', 'http://crl.n3x.internal/nixca.crl', '--state', '/nonexistent'],
      ['serve', '--crl-url', 'ftp://crl.n3x.internal/nixca.crl', '--state', '/nonexistent'],
      ['serve', '--crl-url', 'not a url', '--state', '/nonexistent'],
      ['serve', '--challenge-wait', 'soon', '--state', '/nonexistent'],
    ]) {
      const r = await spawnCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^nixca: /);
    }
  });

  it('a state directory without an issuer is not-found (exit 4) with a hint', async (t) => {
    const dir = await tempDir(t);
    const r = await spawnCli(['serve', '--state', dir, '--listen', `127.0.0.1:${NO_ISSUER_PORT}`]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /no issuer key in .*nixca issuer init --state/);
  });
});

describe('nixca serve with a ceremony-made issuer (production path)', { timeout: 60_000 }, () => {
  it('loads the installed intermediate with --passphrase-file, serves under --base-url, refuses a wrong passphrase and an unconstrained host', async (t) => {
    await requireTool('openssl', ['version']);
    const dir = await tempDir(t, 'nixca-serve-prod-');
    const state = join(dir, 'state');
    const rootDir = join(dir, 'root');
    await writeFile(join(dir, 'root.pass'), 'root passphrase for tests\n', { mode: 0o600 });
    await writeFile(join(dir, 'int.pass'), 'intermediate passphrase\n', { mode: 0o600 });
    await writeFile(join(dir, 'wrong.pass'), 'not the passphrase at all\n', { mode: 0o600 });
    const ok = async (args: string[]) => {
      const r = await runCli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await ok(['root', 'init', '--dir', rootDir, '--name', 'Test Root', '--permit-dns', 'n3x.internal', '--passphrase-file', join(dir, 'root.pass')]);
    await ok(['issuer', 'init', '--state', state, '--name', 'Test Issuing CA', '--passphrase-file', join(dir, 'int.pass')]);
    await ok(['root', 'sign-intermediate', '--dir', rootDir, '--csr', join(state, 'issuer', 'intermediate.csr.pem'), '--out', join(dir, 'intermediate.pem'), '--passphrase-file', join(dir, 'root.pass')]);
    await ok(['issuer', 'install', '--state', state, '--cert', join(dir, 'intermediate.pem'), '--root', join(rootDir, 'root.pem'), '--passphrase-file', join(dir, 'int.pass')]);

    const wrong = await spawnCli(['serve', '--state', state, '--listen', `127.0.0.1:${REFUSED_PORT}`, '--base-url', 'https://acme.n3x.internal:8443/', '--passphrase-file', join(dir, 'wrong.pass')]);
    assert.equal(wrong.code, 6, wrong.stderr);
    assert.match(wrong.stderr, /wrong passphrase/);
    const outside = await spawnCli(['serve', '--state', state, '--listen', `127.0.0.1:${REFUSED_PORT}`, '--base-url', 'https://acme.example.com/', '--passphrase-file', join(dir, 'int.pass')]);
    assert.equal(outside.code, 8, outside.stderr);
    assert.match(outside.stderr, /outside the intermediate's permitted DNS names/);

    // Behind a proxy: clients use https://acme.n3x.internal:8443/acme/, the issuer listens on loopback.
    const child = track(spawn(process.execPath, [NIXCA_BIN, 'serve', '--state', state, '--listen', `127.0.0.1:${PROD_PORT}`, '--base-url', 'https://acme.n3x.internal:8443/acme/', '--passphrase-file', join(dir, 'int.pass')], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    t.after(() => killGroup(child));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const ca = await readFile(join(rootDir, 'root.pem'), 'utf8');
    let doc: { status: number; body: string } | undefined;
    for (let i = 0; i < 100 && !doc; i++) {
      doc = await httpsGet('https://acme.n3x.internal:8443/acme/directory', ca, 2000, { host: '127.0.0.1', port: PROD_PORT }).catch(() => undefined);
      if (!doc) await sleep(200);
    }
    assert.ok(doc, log);
    assert.equal(doc.status, 200, doc.body);
    // Every link is built from the base URL, not from the Host the request came with.
    assert.equal(JSON.parse(doc.body).newNonce, 'https://acme.n3x.internal:8443/acme/new-nonce');
    const sc = await run('openssl', ['s_client', '-connect', `127.0.0.1:${PROD_PORT}`, '-servername', 'acme.n3x.internal', '-verify_hostname', 'acme.n3x.internal', '-CAfile', join(rootDir, 'root.pem'), '-verify_return_error', '-brief'], { timeoutMs: 10_000, input: 'Q\n' });
    assert.equal(sc.code, 0, sc.stdout + sc.stderr);
    assert.doesNotMatch(log, /intermediate passphrase/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
  });
});
