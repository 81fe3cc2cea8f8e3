// Operating a running issuer (real processes): a real `nixca serve`, certificates from real lego,
// and the operator's CLI as separate processes, through the admin socket. Revocation reaches the
// served CRL at once; EAB rotation with --deactivate-accounts and node remove + add refuse the old
// accounts; the same commands as an unprivileged user (nobody) are refused and change nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, spawnCli, tempDir, type CliResult } from '../helpers/cli.js';
import { addNodeWithEab, opensslText, requireTool, run, startIssuer, type Issuer } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, HTTP01, DASHBOARD] = (await freePorts(3)) as [number, number, number];
const N1 = 'ops-n1.interop.n3x.internal';
const N2 = 'ops-n2.interop.n3x.internal';
const NOBODY = 65534;

/** The CLI as a real process, optionally as another user (setpriv drops root to `uid`). */
function cli(args: readonly string[], asUid?: number, env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(args, { asUid, env: { PATH: process.env.PATH, ...env } });
}

function getDer(url: string, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A GET as an ARI client makes it: unauthenticated, with a User-Agent (RFC 8555 §6.1). */
function httpsGet(url: string, ca: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 5000, headers: { 'user-agent': 'ari-probe/1 (node:https)' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function legoFor(issuer: Issuer, dir: string, path: string, eab: { kid: string; hmac: string }, name: string) {
  const env = { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: issuer.rootPath };
  const base = ['--server', issuer.directory, '--path', path, '--accept-tos', '--email', 'ops@n3x.internal', '--eab', '--kid', eab.kid, '--hmac', eab.hmac, '--domains', name, '--http', '--http.port', `127.0.0.1:${HTTP01}`];
  return (args: string[]) => run('lego', [...base, ...args], { env, timeoutMs: 90_000 });
}

const why = (issuer: Issuer, r: { code: number | null; stdout: string; stderr: string }) => `exit ${r.code}\n${r.stdout}\n${r.stderr.slice(-3000)}\n--- issuer log ---\n${issuer.log().slice(-3000)}`;

async function certStatus(state: string, serial: string): Promise<string> {
  const r = await cli(['cert', 'list', '--json', '--state', state]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { serial: string; status: string }[]).find((c) => c.serial === serial)?.status ?? 'absent';
}

describe('operating a running nixca serve (admin socket)', { timeout: 600_000 }, () => {
  it('revoke, EAB rotation and node re-adding take effect at once; nobody is refused', async (t) => {
    await requireTool('lego');
    await requireTool('openssl', ['version']);
    await requireTool('setpriv', ['--version']);
    const dir = await tempDir(t, 'nixca-ops-');
    const state = join(dir, 'state');
    await mkdir(state, { mode: 0o700 }); // node add needs an existing state directory
    const eab1 = await addNodeWithEab(state, 'n1', [N1]);
    const eab2 = await addNodeWithEab(state, 'n2', [N2]);
    // A second socket path outside the private state directory, to show the application-level
    // peer check on its own when the socket file is (mis)configured world-writable.
    const open = await mkdtemp(join(tmpdir(), 'nixca-ops-sock-'));
    t.after(() => rm(open, { recursive: true, force: true }));
    await chmod(open, 0o755);
    // With its dashboard: what the running issuer itself shows of the signing keys.
    const issuer = await startIssuer(t, { state, port: PORT, http01Port: HTTP01, names: [N1, N2], extraArgs: ['--dashboard', '--dashboard-listen', `127.0.0.1:${DASHBOARD}`] });
    const sock = join(state, 'admin.sock');
    const st = await stat(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);

    const lego1 = legoFor(issuer, dir, join(dir, 'lego1'), eab1, N1);
    const got = await lego1(['run']);
    assert.equal(got.code, 0, why(issuer, got));
    const leaf = join(dir, 'lego1', 'certificates', `${N1}.crt`);
    const chain = join(dir, 'lego1', 'certificates', `${N1}.issuer.crt`);
    const serial = (await opensslText(leaf)).serial;

    await t.test('ARI: a real HTTP client fetching renewalInfo makes the node "polling"; renew-now stops warning about it', async () => {
      // No Debian-packaged client polls ARI (Caddy 2.6.2, certbot 2.x, lego 4.9), so a plain HTTPS
      // client (node:https, its own process's TLS stack, over loopback) does what an ARI client does (RFC 9773 §3, §4.1): read the directory's renewalInfo URL, then GET
      // <renewalInfo>/<certID> with certID = base64url(AKI keyIdentifier) "." base64url(DER serial).
      const before = await cli(['renew-now', 'n1', '--reason', 'ari test', '--json', '--state', state]);
      assert.equal(before.code, 0, before.stderr);
      assert.deepEqual((JSON.parse(before.stdout) as { neverPolled: string[] }).neverPolled, ['n1']);
      assert.match(before.stderr, /node n1: its ACME client never fetched renewalInfo .* will NOT renew early/);
      const ca = await readFile(issuer.rootPath, 'utf8');
      const dirRes = await httpsGet(issuer.directory, ca);
      assert.equal(dirRes.status, 200);
      const base = (JSON.parse(dirRes.body) as { renewalInfo: string }).renewalInfo;
      const x = await run('openssl', ['x509', '-in', leaf, '-noout', '-ext', 'authorityKeyIdentifier', '-serial'], { timeoutMs: 10_000 });
      const aki = Buffer.from(/Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(x.stdout)![1]!.replace(/:/g, ''), 'hex');
      let der = Buffer.from(/serial=([0-9A-F]+)/.exec(x.stdout)![1]!, 'hex');
      if (der[0]! >= 0x80) der = Buffer.concat([Buffer.from([0]), der]);
      const got = await httpsGet(`${base}/${aki.toString('base64url')}.${der.toString('base64url')}`, ca);
      assert.equal(got.status, 200, got.body);
      assert.match(String(got.headers['retry-after']), /^\d+$/);
      const window = (JSON.parse(got.body) as { suggestedWindow: { start: string; end: string } }).suggestedWindow;
      assert.ok(Date.parse(window.start) <= Date.parse(window.end), JSON.stringify(window));
      // The running issuer knows at once (renew-now goes through it); `status` reads the record the
      // issuer writes at most every few seconds.
      const after = await cli(['renew-now', 'n1', '--reason', 'ari test', '--json', '--state', state]);
      assert.equal(after.code, 0, after.stderr);
      assert.deepEqual((JSON.parse(after.stdout) as { neverPolled: string[]; warnings: string[] }).neverPolled, []);
      assert.doesNotMatch(after.stderr, /warning/);
      let ari: { ari: string; userAgent: string | null; lastSerial: string | null } | undefined;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
        const st = await cli(['status', '--json', '--state', state]);
        ari = (JSON.parse(st.stdout) as { nodes: { name: string; ari: typeof ari }[] }).nodes.find((n) => n.name === 'n1')?.ari;
        if (ari?.ari === 'polling') break;
      }
      assert.deepEqual(ari && { ari: ari.ari, userAgent: ari.userAgent, lastSerial: ari.lastSerial }, { ari: 'polling', userAgent: 'ari-probe/1 (node:https)', lastSerial: serial });
      // Per certificate: when, how often, and the account holding it.
      const show = await cli(['cert', 'show', serial, '--json', '--state', state]);
      const accounts = await cli(['account', 'list', '--node', 'n1', '--json', '--state', state]);
      const rec = (JSON.parse(show.stdout) as { ari: { count: number; accountId: string } | null }).ari;
      assert.equal(rec?.count, 1);
      assert.deepEqual([rec?.accountId], (JSON.parse(accounts.stdout) as { id: string }[]).map((a) => a.id));
    });

    await t.test('an unprivileged user is refused (exit 6, one line) and changes nothing', async () => {
      for (const args of [
        ['cert', 'revoke', serial, '--reason', 'keyCompromise'],
        ['node', 'eab', 'n1', '--rotate', '--deactivate-accounts', '--out', '-'],
        ['node', 'remove', 'n2'],
        ['renew-now', '--all'],
        ['key', 'generate', 'n1', '--secret-out', join(open, 'nobody.sec')],
        ['key', 'revoke', 'nuc-1.whatever-1', '--reason', 'test'],
        ['cert', 'list'],
      ]) {
        const r = await cli([...args, '--state', state], NOBODY);
        assert.equal(r.code, 6, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /permission denied/);
      }
      assert.equal(await certStatus(state, serial), 'valid');
      const nodes = await cli(['node', 'list', '--json', '--state', state]);
      // (serve --dev adds its example node nuc-1 beside ours.)
      const ours = (JSON.parse(nodes.stdout) as { name: string; eabKeyId: string }[]).filter((n) => n.name !== 'nuc-1');
      assert.deepEqual(ours.map((n) => [n.name, n.eabKeyId]), [['n1', eab1.kid], ['n2', eab2.kid]]);
      await assert.rejects(stat(join(open, 'nobody.sec')), { code: 'ENOENT' });
    });

    await t.test('signing keys through the running issuer: generated here, only the public half sent; its dashboard sees the change at once', async () => {
      const secretOut = join(dir, 'n1-signing.sec');
      const gen = await cli(['key', 'generate', 'n1', '--secret-out', secretOut, '--json', '--state', state]);
      assert.equal(gen.code, 0, gen.stderr);
      const g = JSON.parse(gen.stdout) as { appliedBy: string; secretOut: string; key: { name: string; state: string; publicKey: string } };
      assert.deepEqual([g.appliedBy, g.secretOut, g.key.state], ['issuer', secretOut, 'next']);
      assert.equal((await stat(secretOut)).mode & 0o777, 0o600);
      const secret = (await readFile(secretOut, 'utf8')).split(':')[1]!;
      const rot = await cli(['key', 'rotate', 'n1', '--json', '--state', state]);
      assert.equal(rot.code, 0, rot.stderr);
      assert.deepEqual(JSON.parse(rot.stdout) as object, { ...(JSON.parse(rot.stdout) as object), appliedBy: 'issuer', action: 'promote', promoted: g.key.name });
      const ca = await readFile(issuer.rootPath, 'utf8');
      let seen: { name: string; state: string }[] = [];
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
        const snap = await httpsGet(`https://localhost:${DASHBOARD}/api/status.json`, ca);
        assert.equal(snap.status, 200, snap.body);
        seen = (JSON.parse(snap.body) as { keyRotation: { name: string; state: string }[] }).keyRotation;
        if (seen.some((k) => k.name === g.key.name && k.state === 'active')) break;
      }
      assert.ok(seen.some((k) => k.name === g.key.name && k.state === 'active'), JSON.stringify(seen));
      // Audited by the issuer; the secret is nowhere but in its 0600 file.
      const audit = await cli(['audit', 'show', '--json', '--state', state]);
      const moves = (JSON.parse(audit.stdout) as { type: string; subject: string; details: { to?: string } }[]).filter((e) => e.type === 'signing-key.transition' && e.subject === g.key.name);
      assert.deepEqual(moves.map((e) => e.details.to), ['next', 'active']);
      for (const text of [gen.stdout, gen.stderr, rot.stdout, audit.stdout, issuer.log(), await readFile(join(state, 'inventory.json'), 'utf8')]) assert.ok(!text.includes(secret));
    });

    await t.test('cert revoke through the running issuer: CRL within 2 s, openssl rejects, audited, listed', async () => {
      const r = await cli(['cert', 'revoke', serial, '--reason', 'keyCompromise', '--state', state]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /serves a CRL listing it now/);
      const ca = await readFile(issuer.rootPath, 'utf8');
      const crlPem = join(dir, 'crl.pem');
      const deadline = Date.now() + 2000;
      let listed = false;
      while (!listed && Date.now() < deadline) {
        await writeFile(join(dir, 'crl.der'), await getDer(`https://localhost:${PORT}/crl`, ca));
        const txt = await run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-text'], { timeoutMs: 10_000 });
        listed = txt.stdout.toLowerCase().replace(/:/g, '').includes(serial.toUpperCase().toLowerCase());
      }
      assert.ok(listed, 'the served CRL lists the serial within 2 s');
      assert.equal((await run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-out', crlPem], { timeoutMs: 10_000 })).code, 0);
      const v = await run('openssl', ['verify', '-crl_check', '-CAfile', issuer.rootPath, '-untrusted', chain, '-CRLfile', crlPem, leaf], { timeoutMs: 10_000 });
      assert.notEqual(v.code, 0);
      assert.match(v.stdout + v.stderr, /certificate revoked/);
      const audit = await cli(['audit', 'show', '--json', '--state', state]);
      assert.ok((JSON.parse(audit.stdout) as { type: string; subject: string; details: { reason?: string } }[]).some((e) => e.type === 'certificate.revoked' && e.subject === serial && e.details.reason === 'keyCompromise'));
      assert.equal(await certStatus(state, serial), 'revoked');
    });

    await t.test('node eab --rotate --deactivate-accounts: the old account is unauthorized, a new one works', async () => {
      const out = join(dir, 'n1-new.env');
      const r = await cli(['node', 'eab', 'n1', '--rotate', '--deactivate-accounts', '--out', out, '--json', '--state', state]);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as { appliedBy: string; deactivatedAccounts: string[] };
      assert.equal(res.appliedBy, 'issuer');
      assert.equal(res.deactivatedAccounts.length, 1);
      const renew = await lego1(['renew', '--days', '30', '--no-random-sleep']);
      assert.notEqual(renew.code, 0, why(issuer, renew));
      assert.match(renew.stdout + renew.stderr, /unauthorized/);
      const env = await readFile(out, 'utf8');
      const fresh = { kid: /NIXCA_EAB_KEY_ID=(.*)/.exec(env)![1]!, hmac: /NIXCA_EAB_MAC_KEY=(.*)/.exec(env)![1]! };
      const again = await legoFor(issuer, dir, join(dir, 'lego1b'), fresh, N1)(['run']);
      assert.equal(again.code, 0, why(issuer, again));
    });

    await t.test('node remove + node add while serving: the old account of n2 is refused', async () => {
      const lego2 = legoFor(issuer, dir, join(dir, 'lego2'), eab2, N2);
      const first = await lego2(['run']);
      assert.equal(first.code, 0, why(issuer, first));
      assert.equal((await cli(['node', 'remove', 'n2', '--state', state])).code, 0);
      const add = await cli(['node', 'add', 'n2', '--dns', N2, '--json', '--state', state]);
      assert.equal(add.code, 0, add.stderr);
      assert.equal((JSON.parse(add.stdout) as { appliedBy: string }).appliedBy, 'issuer');
      const renew = await lego2(['renew', '--days', '30', '--no-random-sleep']);
      assert.notEqual(renew.code, 0, why(issuer, renew));
      assert.match(renew.stdout + renew.stderr, /unauthorized/);
      const accounts = await cli(['account', 'list', '--node', 'n2', '--json', '--state', state]);
      assert.ok((JSON.parse(accounts.stdout) as { status: string }[]).every((a) => a.status === 'deactivated'));
    });

    await t.test('a configured socket path: serve (config key) and the CLI ($NIXCA_ADMIN_SOCKET) meet; the peer check refuses nobody even on a world-writable socket', async () => {
      await issuer.stop();
      // Offline (no issuer): the listings read the same store, with what the issuer recorded.
      const offline = await cli(['cert', 'show', serial, '--json', '--state', state]);
      assert.equal(offline.code, 0, offline.stderr);
      const shown = JSON.parse(offline.stdout) as { status: string; revocation: { reason: string } | null; ari: { count: number } | null };
      assert.deepEqual([shown.status, shown.revocation?.reason, shown.ari?.count], ['revoked', 'keyCompromise', 1]);
      const n2accounts = JSON.parse((await cli(['account', 'list', '--node', 'n2', '--json', '--state', state])).stdout) as { id: string; status: string }[];
      assert.ok(n2accounts.length > 0 && n2accounts.every((a) => a.status === 'deactivated'));
      const one = await cli(['account', 'show', n2accounts[0]!.id, '--json', '--state', state]);
      assert.equal((JSON.parse(one.stdout) as { status: string }).status, 'deactivated');
      const alt = join(open, 'admin.sock');
      const config = join(dir, 'serve.json');
      await writeFile(config, JSON.stringify({ adminSocket: alt }));
      const second = await startIssuer(t, { state, port: PORT, http01Port: HTTP01, names: [N1, N2], extraArgs: ['--config', config] });
      assert.ok((await stat(alt)).isSocket());
      await assert.rejects(stat(sock), { code: 'ENOENT' }, 'nothing at the default path');
      const viaEnv = { NIXCA_ADMIN_SOCKET: alt };
      await chmod(alt, 0o666);
      const r = await cli(['renew-now', '--all', '--state', state], NOBODY, viaEnv);
      assert.equal(r.code, 6, r.stdout + r.stderr);
      assert.match(r.stderr, /refused by the issuer's admin socket: uid 65534/);
      assert.match(second.log(), /admin socket: refused a peer/);
      const ok = await cli(['renew-now', '--all', '--json', '--state', state], undefined, viaEnv);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { appliedBy: string }).appliedBy, 'issuer');
      // Without the path the CLI finds no issuer at STATE/admin.sock and refuses to touch the held store.
      const lost = await cli(['cert', 'revoke', '--node', 'n1', '--reason', 'superseded', '--state', state]);
      assert.equal(lost.code, 5, lost.stdout + lost.stderr);
      assert.match(lost.stderr, /admin socket .* does not answer/);
    });
  });
});
