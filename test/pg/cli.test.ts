// `--store URL` / NIXCA_STORE / --store-password-file on every command family that reads or
// writes issuer state (node, key, account, cert, status, renew-now, nixos emit), against one
// throw-away cluster: each command works on the shared database (nothing lands in --state's
// inventory.json), the password comes from a file or the systemd credential, and a password put in
// the URL is refused by every command without ever being printed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRoot } from '../../src/ca/root.js';
import { openPgStore } from '../../src/store/pg/index.js';
import { freePort, runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { migratedDatabase, PG_USER, startTestCluster, type TestCluster } from './cluster.js';

const SECRET = 'Sup3rSecretPw' + process.pid;

describe('--store on every command family (PostgreSQL)', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let url: string;
  let state: string;
  const env = () => ({ PATH: process.env.PATH });
  const cli = (args: string[], extra: Record<string, string> = {}) => runCli([...args, '--state', state], { env: { ...env(), ...extra } });
  const ok = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await cli(args, extra);
    assert.equal(r.code, 0, `nixca ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const inventory = async () => (await cluster.sql<{ data: { nodes: { name: string; renewAfter: string | null; eab?: unknown }[]; signingKeys: { name: string; state: string }[] } }>('nixca', 'SELECT data FROM inventory'))[0]!.data;

  before(async () => {
    cluster = await startTestCluster();
    url = await cluster.createDatabase('nixca');
    state = mkdtempSync(join(tmpdir(), 'nixca-pgcli-'));
    assert.equal((await runCli(['db', 'migrate', '--store', url], { env: env() })).code, 0);
  });
  after(async () => {
    rmSync(state, { recursive: true, force: true });
    await cluster?.destroy();
  });

  it('node, key, renew-now, status and nixos emit work on the shared inventory', async () => {
    // A change needs an existing --state (its audit key signs the shared chain): none is created.
    const missing = join(state, 'no-such-state');
    const refused = await runCli(['node', 'add', 'nuc-0', '--dns', 'cache.nuc-0.n3x.internal', '--store', url, '--state', missing], { env: env() });
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /^nixca: no nixca state directory at \S+no-such-state: with --store, a change is signed into the shared audit chain/);
    assert.equal(existsSync(missing), false, 'no state directory was created');
    const added = await ok(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--store', url]);
    // This --state never had an issuer: its audit key is uncertified, and the command says what that means.
    assert.match(added.stderr, /warning: the audit key in \S+ has no certificate from an issuer yet: `nixca audit verify --store` reports this entry as uncertified/);
    await ok(['node', 'eab', 'nuc-1', '--out', join(state, 'nuc-1.eab.env'), '--store', url]);
    // NIXCA_STORE selects the store as --store does.
    await ok(['key', 'generate', 'nuc-1', '--secret-out', join(state, 'nuc-1.sk')], { NIXCA_STORE: url });
    let inv = await inventory();
    assert.deepEqual(inv.nodes.map((n) => n.name), ['nuc-1']);
    assert.ok(inv.nodes[0]!.eab, 'the EAB credential is in the database');
    assert.deepEqual(inv.signingKeys.map((k) => k.state), ['next'], 'the signing-key state is in the database');
    assert.equal(existsSync(join(state, 'inventory.json')), false, 'nothing went to the embedded inventory');

    const keyName = inv.signingKeys[0]!.name;
    await ok(['key', 'rotate', 'nuc-1', '--min-prepublish', '0s', '--store', url]);
    const st = JSON.parse((await ok(['key', 'status', 'nuc-1', '--json', '--store', url])).stdout) as { keys?: { name: string; state: string }[] };
    assert.match(JSON.stringify(st), new RegExp(`"name":"${keyName}","node":"nuc-1","state":"active"`));
    // Without --store the embedded (empty) inventory is read: the commands really switch stores.
    assert.notEqual((await cli(['key', 'status', 'nuc-1', '--json'])).code, 0);

    await ok(['renew-now', 'nuc-1', '--reason', 'test', '--store', url]);
    inv = await inventory();
    assert.ok(inv.nodes[0]!.renewAfter, 'renew-now moved the window in the database');

    const status = JSON.parse((await cli(['status', '--json', '--store', url])).stdout) as { nodes: { name: string }[] };
    assert.deepEqual(status.nodes.map((n) => n.name), ['nuc-1']);

    const out = join(state, 'nixos-out');
    const root = join(state, 'root.pem');
    writeFileSync(root, (await createRoot({ commonName: 'pgcli test root', permittedDns: ['n3x.internal'] })).certificate.toString('pem'));
    const emitted = await cli(['nixos', 'emit', '--out', out, '--acme-directory', 'https://ca.n3x.internal/directory', '--root-cert', root, '--store', url]);
    assert.equal(emitted.code, 0, emitted.stderr);
    assert.match(readFileSync(join(out, 'trust.nix'), 'utf8'), new RegExp(keyName));
  });

  it('account list/show/deactivate and cert list/show read and change the shared ACME store', async () => {
    const s = await openPgStore({ url }, { listen: false });
    const t = new Date().toISOString();
    try {
      await s.acme.createAccount({ id: 'acct-1', status: 'valid', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x' }, thumbprint: 'tp-1', contact: [], node: 'nuc-1', eabKeyId: 'k', externalAccountBinding: null, createdAt: t, updatedAt: t });
      await s.acme.putCertificate({ serial: 'ab01', accountId: 'acct-1', node: 'nuc-1', names: ['cache.nuc-1.n3x.internal'], notBefore: t, notAfter: new Date(Date.now() + 86_400_000).toISOString(), orderId: 'o-1', issuedAt: t, spkiSha256: 'ab' }, '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
    } finally {
      await s.close();
    }
    const list = JSON.parse((await ok(['account', 'list', '--json', '--store', url])).stdout) as { id: string; node: string }[];
    assert.deepEqual(list.map((a) => [a.id, a.node]), [['acct-1', 'nuc-1']]);
    assert.equal(JSON.parse((await ok(['account', 'show', 'acct-1', '--json', '--store', url])).stdout).certificates, 1);
    assert.deepEqual(JSON.parse((await ok(['cert', 'list', '--json', '--store', url])).stdout).map((c: { serial: string }) => c.serial), ['ab01']);
    await ok(['account', 'deactivate', 'acct-1', '--store', url]);
    const rows = await cluster.sql<{ status: string }>('nixca', "SELECT record->>'status' AS status FROM accounts WHERE id = 'acct-1'");
    assert.equal(rows[0]!.status, 'deactivated');
  });

  it('the ARI fetch record is shared: fetches seen by two instances add up, and status/cert show/renew-now on another host read them', async () => {
    const { openSharedAriPollRecorder, readSharedAriPollsOnce } = await import('../../src/store/pg/ari-polls.js');
    const [a, b] = [await openSharedAriPollRecorder({ url }, { flushMs: 10 }), await openSharedAriPollRecorder({ url }, { flushMs: 10 })];
    const t0 = Date.now() - 60_000;
    const at = (m: number) => new Date(t0 + m * 1000);
    a.record({ serial: 'ab01', node: 'nuc-1', accountId: 'acct-1', userAgent: 'Caddy/2.8.4', at: at(1) });
    b.record({ serial: 'ab01', node: 'nuc-1', accountId: 'acct-1', userAgent: null, at: at(3) });
    b.record({ serial: 'ab01', node: 'nuc-1', accountId: 'acct-1', userAgent: 'Caddy/2.8.4', at: at(5) });
    a.record({ serial: 'ab01', node: 'nuc-1', accountId: 'acct-1', userAgent: 'Caddy/2.9.0', at: at(2) });
    // Stale: pruned at the next flush, as the embedded record prunes it.
    a.record({ serial: 'old1', node: 'nuc-1', accountId: 'acct-1', userAgent: null, at: new Date(Date.now() - 91 * 86_400_000) });
    await Promise.all([a.close(), b.close()]);
    const shared = await readSharedAriPollsOnce({ url });
    assert.deepEqual(Object.keys(shared.certificates), ['ab01']);
    const p = shared.certificates.ab01!;
    assert.deepEqual([p.count, p.firstAt, p.lastAt, p.userAgent], [4, at(1).toISOString(), at(5).toISOString(), 'Caddy/2.8.4']);
    assert.equal(shared.nodes['nuc-1']!.lastAt, at(5).toISOString());
    // Another host's --state (no acme/ari-polls.json there) sees the node as polling.
    const elsewhere = mkdtempSync(join(tmpdir(), 'nixca-pgcli-other-'));
    try {
      const other = (args: string[]) => runCli([...args, '--store', url, '--state', elsewhere], { env: env() });
      const st = JSON.parse((await other(['status', '--json'])).stdout) as { nodes: { name: string; ari: { ari: string; userAgent: string | null } }[] };
      assert.deepEqual(st.nodes.find((n) => n.name === 'nuc-1')?.ari.ari, 'polling');
      const show = JSON.parse((await other(['cert', 'show', 'ab01', '--json'])).stdout) as { ari: { count: number } | null };
      assert.equal(show.ari?.count, 4);
      const renew = await other(['renew-now', 'nuc-1', '--json']);
      assert.equal(renew.code, 0, renew.stderr);
      assert.deepEqual((JSON.parse(renew.stdout) as { neverPolled: string[] }).neverPolled, []);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a flush of the ARI fetch record that fails is retried without counting the fetches twice', async () => {
    const { openSharedAriPollRecorder, readSharedAriPollsOnce } = await import('../../src/store/pg/ari-polls.js');
    const db = await cluster.createDatabase('ariretry');
    assert.equal((await runCli(['db', 'migrate', '--store', db], { env: env() })).code, 0);
    // A row the prune cannot read makes the flush fail after its merge statements.
    await cluster.sql('ariretry', "INSERT INTO nixca_meta (key, value) VALUES ('ari:damaged', 'not json')");
    const errors: Error[] = [];
    const r = await openSharedAriPollRecorder({ url: db }, { flushMs: 10, onError: (err) => errors.push(err) });
    r.record({ serial: 'cd01', node: 'nuc-2', accountId: 'acct-2', userAgent: null, at: new Date() });
    for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(errors.length, 1, 'the flush failed');
    await cluster.sql('ariretry', "DELETE FROM nixca_meta WHERE key = 'ari:damaged'");
    await r.close(); // flushes what is still waiting
    assert.equal(errors.length, 1, 'the second flush worked');
    assert.equal((await readSharedAriPollsOnce({ url: db })).certificates.cd01?.count, 1, 'one fetch, counted once');
  });

  it('the password comes from --store-password-file or the systemd credential; a password in the URL is refused and never printed', async () => {
    const tcp = cluster.tcpUrl('nixca');
    // TCP needs the password (scram): from the file, or from $CREDENTIALS_DIRECTORY/nixca-store-password.
    await ok(['node', 'list', '--json', '--store', tcp, '--store-password-file', cluster.passwordFile]);
    const creds = mkdtempSync(join(tmpdir(), 'nixca-creds-'));
    try {
      writeFileSync(join(creds, 'nixca-store-password'), readFileSync(cluster.passwordFile), { mode: 0o600 });
      await ok(['status', '--json', '--store', tcp], { CREDENTIALS_DIRECTORY: creds });
      // A wrong password: one clear line (exit 7, io), the password not in it.
      writeFileSync(join(creds, 'wrong'), SECRET + '\n', { mode: 0o600 });
      const bad = await cli(['node', 'list', '--store', tcp, '--store-password-file', join(creds, 'wrong')]);
      assert.equal(bad.code, 7, bad.stderr);
      assert.match(bad.stderr, /password authentication failed/);
      assert.ok(!(bad.stdout + bad.stderr).includes(SECRET));
      // No password at all (no file, no credential): says what to give, not node-postgres' SASL words.
      const none = await cli(['node', 'list', '--store', tcp]);
      assert.equal(none.code, 7, none.stderr);
      assert.match(none.stderr, /^nixca: cannot use the store postgres:\/\/\S+: the server asks for a password and none was given: use --store-password-file/);
      assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
    } finally {
      rmSync(creds, { recursive: true, force: true });
    }

    const withPw = `postgres://${PG_USER}:${SECRET}@127.0.0.1:${cluster.port}/nixca`;
    const families = [
      ['node', 'list'], ['key', 'status'], ['account', 'list'], ['cert', 'list'], ['status'], ['renew-now', '--all'], ['audit', 'verify'], ['audit', 'show'],
      ['db', 'status'], ['nixos', 'emit', '--out', join(state, 'x'), '--acme-directory', 'https://a.test/directory'],
    ];
    for (const args of families) {
      for (const how of ['flag', 'env'] as const) {
        const run = (a: string[], extra: Record<string, string> = {}) => (args[0] === 'db' ? runCli(a, { env: { ...env(), ...extra } }) : cli(a, extra));
        const r = how === 'flag' ? await run([...args, '--store', withPw]) : await run(args, { NIXCA_STORE: withPw });
        assert.equal(r.code, 2, `${args.join(' ')} (${how}): ${r.stderr}`);
        assert.match(r.stderr, /must not carry a password/);
        assert.ok(!(r.stdout + r.stderr).includes(SECRET), `${args.join(' ')} (${how}) printed the password`);
      }
    }
    // serve as a real process: refused before anything starts, its output (the log) without the password.
    const devState = mkdtempSync(join(tmpdir(), 'nixca-pgcli-dev-'));
    const serve = await spawnCli(['serve', '--dev', '--state', devState, '--store', withPw, '--listen', `127.0.0.1:${await freePort()}`]).finally(() => rmSync(devState, { recursive: true, force: true }));
    assert.notEqual(serve.code, 0);
    assert.match(serve.stderr + serve.stdout, /must not carry a password/);
    assert.ok(!(serve.stdout + serve.stderr).includes(SECRET));
  });

  it('one-shot commands on the shared store neither create nor read the nonce key: only serve has nonce peers', async () => {
    // A command that serves no ACME request has no nonce to issue or redeem; creating the key is a
    // write even a read-only command (cert list) would make, which a role without INSERT cannot.
    const fresh = await cluster.createDatabase('nokey');
    assert.equal((await runCli(['db', 'migrate', '--store', fresh], { env: env() })).code, 0);
    await ok(['cert', 'list', '--json', '--store', fresh]);
    await ok(['node', 'add', 'nuc-9', '--dns', 'cache.nuc-9.n3x.internal', '--store', fresh]);
    await ok(['account', 'list', '--json', '--store', fresh]);
    assert.deepEqual(await cluster.sql('nokey', "SELECT key FROM nixca_meta WHERE key = 'nonce-key'"), []);
  });
  it('audit certify --store gives the audit certificate to the shared chain at once (no serve restart)', async (t) => {
    const db = await migratedDatabase(cluster, 'certify');
    const dir = await tempDir(t, 'nixca-pgcertify-');
    const S = ['--state', join(dir, 'state')];
    const pass = join(dir, 'pass');
    writeFileSync(pass, 'a long enough test passphrase', { mode: 0o600 });
    const run = async (args: string[]) => {
      const r = await runCli(args, { env: env() });
      assert.equal(r.code, 0, `nixca ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    await run(['root', 'init', '--dir', join(dir, 'root'), '--name', 'Certify Test Root', '--permit-dns', 'n3x.internal', '--passphrase-file', pass]);
    const csr = JSON.parse((await run(['issuer', 'init', ...S, '--name', 'Certify Test Issuer', '--passphrase-file', pass, '--json'])).stdout).csr as string;
    // The first entry on the shared chain is signed before the intermediate exists: no certificate yet.
    await run(['node', 'add', 'nuc-c', '--dns', 'cache.nuc-c.n3x.internal', '--store', db, ...S]);
    await run(['root', 'sign-intermediate', '--dir', join(dir, 'root'), '--csr', csr, '--out', join(dir, 'inter.pem'), '--passphrase-file', pass]);
    await run(['issuer', 'install', ...S, '--cert', join(dir, 'inter.pem'), '--root', join(dir, 'root', 'root.pem'), '--passphrase-file', pass]);
    const verify = () => runCli(['audit', 'verify', '--store', db, ...S, '--json'], { env: env() });
    const before = await verify();
    assert.equal(before.code, 1, 'issuer install certified the key in --state only');
    assert.equal(JSON.parse(before.stdout).signer.certified, false);
    const certified = await run(['audit', 'certify', '--store', db, ...S, '--passphrase-file', pass]);
    assert.match(certified.stdout, /^kept audit certificate [0-9a-f]+ .*\nregistered with the shared chain of postgres:\/\/nixca@\/certify\?host=/);
    const after = await verify();
    assert.equal(after.code, 0, after.stderr);
    assert.equal(JSON.parse(after.stdout).signer.certified, true);
  });
});
