// The operator commands end to end, in-process: node changes and renew-now are audited, audit
// verify/show/head, cert revoke, status from the store; nothing secret in the log or in --json.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { certifyAuditKey } from '../../src/audit/certify.js';
import { auditPaths } from '../../src/audit/log.js';
import { openInventoryStore } from '../../src/store/inventory.js';
import { generateKeyPair as nixKeyPair } from '../../src/signing/keys.js';
import { runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { holdLockInChild } from '../helpers/lock.js';
import { testPki, type TestPki } from '../audit/pki.js';
import { installIssuerFiles, issueInto } from './helpers.js';

let pkiP: Promise<TestPki> | undefined;
const pki = () => (pkiP ??= testPki(['n3x.test']));

async function fleet(t: { after(fn: () => unknown): void }) {
  const state = await tempDir(t);
  const S = ['--state', state];
  for (const n of ['nuc-1', 'nuc-2']) {
    const r = await runCli(['node', 'add', n, '--dns', `cache.${n}.n3x.test`, ...S]);
    assert.equal(r.code, 0, r.stderr);
  }
  return { state, S };
}

async function addActiveKey(state: string, node: string, name: string) {
  const kp = nixKeyPair(name);
  const inv = await openInventoryStore(state);
  await inv.update((d) => {
    d.signingKeys.push({ name, node, publicKey: kp.publicKey, secretKeyPath: null, origin: 'generated', state: 'active', history: [{ at: new Date().toISOString(), from: null, to: 'active', reason: 'test' }] });
  });
  return kp;
}

test('node add / eab / eab --rotate / remove are audited, with the EAB key id and never the MAC key', async (t) => {
  const { state, S } = await fleet(t);
  const out = `${state}/eab.env`;
  assert.equal((await runCli(['node', 'eab', 'nuc-1', '--out', out, ...S])).code, 0);
  assert.equal((await runCli(['node', 'eab', 'nuc-1', '--out', out, '--rotate', ...S])).code, 0);
  const mac = /NIXCA_EAB_MAC_KEY=(.+)/.exec(await readFile(out, 'utf8'))![1]!;
  assert.equal((await runCli(['node', 'eab', 'nuc-1', '--out', '-', ...S])).code, 0); // kept: no new entry
  assert.equal((await runCli(['node', 'remove', 'nuc-2', ...S])).code, 0);
  const show = await runCli(['audit', 'show', '--json', ...S]);
  assert.equal(show.code, 0, show.stderr);
  const entries = JSON.parse(show.stdout) as { type: string; node: string | null; details: Record<string, unknown> }[];
  assert.deepEqual(entries.map((e) => e.type), ['audit.init', 'node.added', 'node.added', 'node.eab-created', 'node.eab-rotated', 'node.removed']);
  const rotated = entries[4]!;
  assert.match(String(rotated.details.eabKeyId), /^eab-/);
  assert.equal(rotated.details.previousEabKeyId, entries[3]!.details.eabKeyId);
  // Neither the log file nor any output holds the MAC key.
  const raw = await readFile(auditPaths(state).log, 'utf8');
  assert.ok(!raw.includes(mac), 'the audit log contains the EAB MAC key');
  assert.ok(!show.stdout.includes(mac));
  assert.ok(!/PRIVATE KEY/.test(raw));
  // --node and --type filters.
  const n1 = JSON.parse((await runCli(['audit', 'show', '--node', 'nuc-1', '--type', 'node', '--json', ...S])).stdout) as unknown[];
  assert.equal(n1.length, 3);
  const since = await runCli(['audit', 'show', '--since', '2999-01-01T00:00:00Z', ...S]);
  assert.match(since.stdout, /no matching entries/);
  assert.equal((await runCli(['audit', 'show', '--since', 'yesterday', ...S])).code, 2);
});

test('audit verify: uncertified until the intermediate certifies the key; then ok; an edit exits 1 naming the seq', async (t) => {
  const { state, S } = await fleet(t);
  const p = await pki();
  const before = await runCli(['audit', 'verify', ...S]);
  assert.equal(before.code, 1);
  assert.match(before.stderr, /no certificate from the issuer yet/);
  assert.equal((await runCli(['audit', 'verify', '--allow-uncertified', ...S])).code, 0);
  await installIssuerFiles(state, p);
  await certifyAuditKey(state, p.intermediate);
  const ok = await runCli(['audit', 'verify', '--json', ...S]);
  assert.equal(ok.code, 0, ok.stderr);
  const v = JSON.parse(ok.stdout) as { ok: boolean; entries: number; signer: { certified: boolean } };
  assert.equal(v.ok, true);
  assert.equal(v.signer.certified, true);
  const head = (await runCli(['audit', 'head', ...S])).stdout.trim();
  assert.match(head, /^\d+:[0-9a-f]{64}$/);
  assert.equal((await runCli(['audit', 'verify', '--anchor', head, ...S])).code, 0);
  assert.equal((await runCli(['audit', 'verify', '--anchor', 'nonsense', ...S])).code, 2);

  const lines = (await readFile(auditPaths(state).log, 'utf8')).split('\n');
  lines[1] = lines[1]!.replace('nuc-1', 'nuc-9');
  await writeFile(auditPaths(state).log, lines.join('\n'));
  const bad = await runCli(['audit', 'verify', ...S]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^nixca: audit log is broken at seq 1: /);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  // Appends check only the newest entry (cost independent of history): a damaged newest entry
  // refuses further appends (exit 1, check) and the inventory change is not made.
  const cur = (await readFile(auditPaths(state).log, 'utf8')).split('\n').filter(Boolean);
  cur[cur.length - 1] = cur.at(-1)!.slice(0, 30);
  await writeFile(auditPaths(state).log, cur.join('\n') + '\n');
  const blocked = await runCli(['node', 'add', 'nuc-3', '--dns', 'cache.nuc-3.n3x.test', ...S]);
  assert.equal(blocked.code, 1);
  assert.equal((await runCli(['node', 'show', 'nuc-3', ...S])).code, 4);
});

test('renew-now sets renewAfter, is audited, and moves the ARI window shown by status', async (t) => {
  const { state, S } = await fleet(t);
  const p = await pki();
  const issuedAt = new Date(Date.now() - 60 * 60_000);
  const c1 = await issueInto(state, p, 'nuc-1', ['cache.nuc-1.n3x.test'], { issuedAt, notBefore: new Date(issuedAt.getTime() - 5 * 60_000) });
  await issueInto(state, p, 'nuc-2', ['cache.nuc-2.n3x.test'], { issuedAt });
  await addActiveKey(state, 'nuc-1', 'cache.nuc-1.n3x.test-1');
  await addActiveKey(state, 'nuc-2', 'cache.nuc-2.n3x.test-1');
  const before = JSON.parse((await runCli(['status', '--json', ...S])).stdout);
  assert.equal(before.nodes[0].certificate.serial, c1.serial);
  assert.equal(before.nodes[0].certificate.renewalWindow.reason, 'default');
  assert.ok(new Date(before.nodes[0].certificate.renewalWindow.start) > new Date(Date.now() + 3 * 86_400_000));

  assert.equal((await runCli(['renew-now', ...S])).code, 2);
  assert.equal((await runCli(['renew-now', 'nuc-1', '--all', ...S])).code, 2);
  assert.equal((await runCli(['renew-now', 'nope', ...S])).code, 4);
  const r = await runCli(['renew-now', 'nuc-1', '--reason', 'key compromise suspected', '--json', ...S]);
  assert.equal(r.code, 0, r.stderr);
  const after = JSON.parse((await runCli(['status', '--json', ...S])).stdout);
  const w = after.nodes[0].certificate.renewalWindow;
  assert.equal(w.reason, 'renew-now');
  assert.ok(Math.abs(new Date(w.start).getTime() - Date.now()) < 60_000);
  assert.equal(after.nodes[1].certificate.renewalWindow.reason, 'default');
  assert.equal((await runCli(['renew-now', '--all', ...S])).code, 0);
  const audit = JSON.parse((await runCli(['audit', 'show', '--type', 'node.renew-now', '--json', ...S])).stdout);
  assert.deepEqual(audit.map((e: { node: string }) => e.node), ['nuc-1', 'nuc-1', 'nuc-2']);
  assert.equal(audit[0].details.reason, 'key compromise suspected');
});

test('cert revoke by serial and by node: store, audit, exit codes; status then flags the node', async (t) => {
  const { state, S } = await fleet(t);
  const p = await pki();
  const a = await issueInto(state, p, 'nuc-1', ['cache.nuc-1.n3x.test']);
  const b1 = await issueInto(state, p, 'nuc-2', ['cache.nuc-2.n3x.test'], { issuedAt: new Date(Date.now() - 120_000) });
  const b2 = await issueInto(state, p, 'nuc-2', ['cache.nuc-2.n3x.test']);
  await addActiveKey(state, 'nuc-1', 'k1');
  await addActiveKey(state, 'nuc-2', 'k2');
  assert.equal((await runCli(['status', ...S])).code, 0);

  assert.equal((await runCli(['cert', 'revoke', a.serial, '--reason', 'stolen', ...S])).code, 2);
  assert.equal((await runCli(['cert', 'revoke', '--reason', 'keyCompromise', ...S])).code, 2);
  assert.equal((await runCli(['cert', 'revoke', 'abcdef', '--reason', 'keyCompromise', ...S])).code, 4);
  const one = await runCli(['cert', 'revoke', a.serial.replace(/(..)(?=.)/g, '$1:').toUpperCase(), '--reason', 'keyCompromise', '--json', ...S]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).revoked[0].serial, a.serial);
  assert.equal((await runCli(['cert', 'revoke', a.serial, '--reason', 'keyCompromise', ...S])).code, 5);
  const node = await runCli(['cert', 'revoke', '--node', 'nuc-2', '--reason', 'cessationOfOperation', '--json', ...S]);
  assert.equal(node.code, 0, node.stderr);
  assert.deepEqual(JSON.parse(node.stdout).revoked.map((c: { serial: string }) => c.serial).sort(), [b1.serial, b2.serial].sort());

  const audit = JSON.parse((await runCli(['audit', 'show', '--type', 'certificate.revoked', '--json', ...S])).stdout);
  assert.equal(audit.length, 3);
  assert.equal(audit[0].subject, a.serial);
  assert.equal(audit[0].details.reason, 'keyCompromise');
  assert.equal(audit[0].details.reasonCode, 1);

  // While another live process (nixca serve) holds the ACME store, revoke refuses (exit 5) and
  // status still reads it.
  const holder = await holdLockInChild(join(state, 'acme', 'writer.lock'));
  t.after(() => holder.stop());
  const held = await runCli(['cert', 'revoke', b2.serial, '--reason', 'superseded', ...S]);
  assert.equal(held.code, 5, held.stderr);
  assert.match(held.stderr, /a running nixca serve holds the ACME store, but its admin socket .* does not answer/);

  const st = await runCli(['status', '--json', ...S]);
  assert.equal(st.code, 1);
  const report = JSON.parse(st.stdout);
  assert.equal(report.ok, false);
  assert.equal(report.nodes[0].problems[0].code, 'newest-revoked');
  assert.equal(report.nodes[0].certificate.renewalWindow.reason, 'revoked');
  assert.match(st.stderr, /^nixca: 2 node\(s\) with problems/);
});

test('status: days left, expired newest certificate is an error, and --json carries no secrets', async (t) => {
  const { state, S } = await fleet(t);
  const p = await pki();
  await runCli(['node', 'eab', 'nuc-1', '--out', `${state}/eab.env`, ...S]);
  const mac = /NIXCA_EAB_MAC_KEY=(.+)/.exec(await readFile(`${state}/eab.env`, 'utf8'))![1]!;
  const kp = await addActiveKey(state, 'nuc-1', 'cache.nuc-1.n3x.test-1');
  const now = Date.now();
  await issueInto(state, p, 'nuc-1', ['cache.nuc-1.n3x.test'], { notBefore: new Date(now - 3 * 86_400_000), notAfter: new Date(now + 4 * 86_400_000), issuedAt: new Date(now - 3 * 86_400_000) });
  await issueInto(state, p, 'nuc-2', ['cache.nuc-2.n3x.test'], { notBefore: new Date(now - 8 * 86_400_000 + 3_600_000), notAfter: new Date(now - 3_600_000), issuedAt: new Date(now - 8 * 86_400_000 + 3_600_000) });
  const st = await runCli(['status', '--json', ...S]);
  assert.equal(st.code, 1);
  const r = JSON.parse(st.stdout);
  assert.equal(r.nodes[0].certificate.daysLeft, 4);
  assert.deepEqual(r.nodes[0].signingKeys.map((k: { name: string; state: string; published: boolean; signing: boolean }) => [k.name, k.state, k.published, k.signing]), [['cache.nuc-1.n3x.test-1', 'active', true, true]]);
  assert.deepEqual(r.nodes[0].problems, []);
  assert.equal(r.nodes[1].problems.find((x: { severity: string }) => x.severity === 'error').code, 'expired');
  for (const secret of [mac, kp.secretKey, kp.secretKey.split(':')[1]!]) assert.ok(!st.stdout.includes(secret), 'status --json leaks a secret');
  assert.ok(!/PRIVATE KEY|macKey/i.test(st.stdout));
  const text = await runCli(['status', ...S]);
  assert.match(text.stdout, /nuc-1\tcache\.nuc-1\.n3x\.test\n {2}certificate [0-9a-f]+ {2}until .* \(4 days left\)/);
  assert.match(text.stdout, /ERROR: newest certificate .* expired/);
});

test('with the real ceremony: issuer install certifies the audit key; audit certify keeps it; verify passes, then catches a removed entry', async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  const S = ['--state', state];
  const pass = join(dir, 'pass');
  await writeFile(pass, 'a long enough test passphrase', { mode: 0o600 });
  const ok = (r: { code: number; stderr: string }) => assert.equal(r.code, 0, r.stderr);
  ok(await runCli(['root', 'init', '--dir', join(dir, 'root'), '--name', 'Ops Test Root', '--permit-dns', 'n3x.test', '--passphrase-file', pass]));
  // issuer init makes the state directory; node add needs one (a mistyped --state is refused).
  const init = await runCli(['issuer', 'init', ...S, '--name', 'Ops Test Issuer', '--passphrase-file', pass, '--json']);
  ok(init);
  ok(await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.test', ...S]));
  const inter = join(dir, 'inter.pem');
  ok(await runCli(['root', 'sign-intermediate', '--dir', join(dir, 'root'), '--csr', JSON.parse(init.stdout).csr, '--out', inter, '--validity', '30d', '--passphrase-file', pass]));
  ok(await runCli(['issuer', 'install', ...S, '--cert', inter, '--root', join(dir, 'root', 'root.pem'), '--passphrase-file', pass]));
  const kept = await runCli(['audit', 'certify', ...S, '--passphrase-file', pass, '--json']);
  ok(kept);
  assert.equal(JSON.parse(kept.stdout).issued, false);
  const v = await runCli(['audit', 'verify', ...S, '--json']);
  ok(v);
  const report = JSON.parse(v.stdout);
  assert.equal(report.signer.certified, true);
  assert.match(report.signer.explanation, /certified by "CN=Ops Test Issuer", which chains to "CN=Ops Test Root"/);
  const types = JSON.parse((await runCli(['audit', 'show', '--json', ...S])).stdout).map((e: { type: string }) => e.type);
  assert.deepEqual(types, ['audit.init', 'node.added', 'issuer.installed', 'audit.certified']);
  const lines = (await readFile(auditPaths(state).log, 'utf8')).split('\n');
  lines.splice(1, 1);
  await writeFile(auditPaths(state).log, lines.join('\n'));
  const bad = await runCli(['audit', 'verify', ...S]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /broken at seq 1: .*seq 2, expected 1/);
});

test('as real processes: exit codes and one stderr line from nixca itself', async (t) => {
  const state = await tempDir(t);
  const S = ['--state', state];
  const add = await spawnCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.test', ...S]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal((await spawnCli(['audit', 'verify', '--allow-uncertified', ...S])).code, 0);
  const lines = (await readFile(auditPaths(state).log, 'utf8')).split('\n');
  lines[0] = lines[0]!.replace('"audit.init"', '"audit.init "');
  await writeFile(auditPaths(state).log, lines.join('\n'));
  const bad = await spawnCli(['audit', 'verify', '--allow-uncertified', ...S]);
  assert.equal(bad.code, 1);
  assert.deepEqual(bad.stderr.trim().split('\n').length, 1);
  assert.match(bad.stderr, /^nixca: audit log is broken at seq 0/);
  assert.equal((await spawnCli(['renew-now', 'nuc-9', ...S])).code, 4);
  assert.equal((await spawnCli(['status', '--port', '0', ...S])).code, 2);
});

test('status: the no-signing-key warning names the one command that fixes it, for this node; running it clears the warning', async (t) => {
  const { state, S } = await fleet(t);
  const warning = async () => {
    const r = await runCli(['status', '--json', ...S]);
    const node = (JSON.parse(r.stdout) as { nodes: Array<{ name: string; problems: Array<{ code: string; message: string }> }> }).nodes.find((n) => n.name === 'nuc-1')!;
    return node.problems.find((p) => p.code === 'no-signing-key')?.message;
  };
  // Nothing published: one step (generate --activate), with the node's own name.
  const first = await warning();
  const cmd = /\bnixca (key generate nuc-1 --activate --secret-out FILE)\)/.exec(first ?? '');
  assert.ok(cmd, `hint: ${first}`);
  const gen = await runCli([...cmd[1]!.replace('FILE', join(state, 'k1.sec')).split(' '), ...S]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(await warning(), undefined);
  // A published next key on another node: the hint promotes it (no second key is needed).
  assert.equal((await runCli(['key', 'generate', 'nuc-2', '--secret-out', join(state, 'k2.sec'), ...S])).code, 0);
  const r = await runCli(['status', '--json', ...S]);
  const nuc2 = (JSON.parse(r.stdout) as { nodes: Array<{ name: string; problems: Array<{ code: string; message: string }> }> }).nodes.find((n) => n.name === 'nuc-2')!;
  assert.match(nuc2.problems.find((p) => p.code === 'no-signing-key')!.message, /nixca key rotate nuc-2\)/);
});
