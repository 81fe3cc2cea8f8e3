// `nixca key …` through the CLI (in-process, with an injected clock): the rotation state machine,
// its policy refusals, and one clear error line with the right exit code for each bad input.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPair } from '../../src/signing/keys.js';
import { runCli, spawnCli, tempDir, type CliResult } from '../helpers/cli.js';

const HOUR = 3_600_000;

const NARINFO = [
  'StorePath: /nix/store/3jb89w1q3xcj2sfly0g7h4w91iv5xs4z-b.txt',
  'URL: nar/1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz.nar',
  'Compression: none',
  'NarHash: sha256:1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz',
  'NarSize: 120',
  'References: ',
  '',
].join('\n');

function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

async function setup(t: Parameters<typeof tempDir>[0]) {
  const state = await tempDir(t, 'nixca-key-cli-');
  const c = clock();
  const cli = (args: string[]) => runCli([...args, '--state', state], { now: c.now });
  assert.equal((await cli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal'])).code, 0);
  assert.equal((await cli(['node', 'add', 'nuc-2', '--dns', 'cache.nuc-2.n3x.internal'])).code, 0);
  return { state, clock: c, cli };
}

function oneLine(r: CliResult, exit: number, pattern: RegExp) {
  assert.equal(r.code, exit, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

const status = async (cli: (a: string[]) => Promise<CliResult>, node = 'nuc-1') => {
  const r = await cli(['key', 'status', node, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { nodes: Array<{ keys: Array<{ name: string; state: string; history: Array<{ from: string | null; to: string; reason: string; at: string }> }>; trustedPublicKeys: string[]; signKeyPaths: string[] }>; shared: unknown[]; fleetTrustedPublicKeys: string[] };
};

test('key generate: <host>-<n> name, secret file 0600 without newline, never printed nor stored in the inventory', async (t) => {
  const { state, cli } = await setup(t);
  const out = join(state, 'k1.sec');
  const r = await cli(['key', 'generate', 'nuc-1', '--secret-out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { key } = JSON.parse(r.stdout);
  assert.equal(key.name, 'cache.nuc-1.n3x.internal-1');
  assert.equal(key.state, 'next');
  assert.equal(key.secretKeyPath, '/run/agenix/nix-signing-cache.nuc-1.n3x.internal-1');
  assert.equal((await stat(out)).mode & 0o777, 0o600);
  const secret = await readFile(out, 'utf8');
  assert.match(secret, /^cache\.nuc-1\.n3x\.internal-1:[A-Za-z0-9+/]{86}==$/);
  const secretB64 = secret.split(':')[1]!;
  const inventory = await readFile(join(state, 'inventory.json'), 'utf8');
  for (const text of [r.stdout, r.stderr, inventory]) assert.ok(!text.includes(secretB64.slice(0, 40)));
  // Text output does not print it either.
  const r2 = await cli(['key', 'generate', 'nuc-2', '--secret-out', join(state, 'k2.sec'), '--secret-key-path', '/run/secrets/harmonia-key']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.ok(!r2.stdout.includes((await readFile(join(state, 'k2.sec'), 'utf8')).split(':')[1]!.slice(0, 40)));
  assert.match(r2.stdout, /\/run\/secrets\/harmonia-key/);
  // --secret-out is required and never '-'-to-stdout; an existing file is never overwritten.
  oneLine(await cli(['key', 'generate', 'nuc-1']), 2, /--secret-out/);
  oneLine(await cli(['key', 'generate', 'nuc-1', '--secret-out', out]), 5, /already exists; refusing to overwrite/);
  // A second next key for the same node is refused, and leaves no secret file behind.
  const extra = join(state, 'extra.sec');
  oneLine(await cli(['key', 'generate', 'nuc-1', '--secret-out', extra]), 5, /already has a next key \(cache\.nuc-1\.n3x\.internal-1\)/);
  await assert.rejects(stat(extra), { code: 'ENOENT' });
  oneLine(await cli(['key', 'generate', 'nope', '--secret-out', extra]), 4, /no node named "nope"/);
  oneLine(await cli(['key', 'generate', 'nuc-1', '--secret-out', extra, '--secret-key-path', 'relative/path']), 2, /absolute runtime path/);
  oneLine(await cli(['key', 'generate', 'nuc-1', '--secret-out', extra, '--secret-key-path', '/nix/store/x-key']), 8, /world-readable/);
});

test('key rotate walks next → active → retiring → retired, refusing unsafe steps unless --force', async (t) => {
  const { state, clock, cli } = await setup(t);
  const k1 = 'cache.nuc-1.n3x.internal-1';
  const k2 = 'cache.nuc-1.n3x.internal-2';
  // No key yet: rotate says how to create one.
  oneLine(await cli(['key', 'rotate', 'nuc-1']), 2, /has no next key: generate one with `nixca key rotate nuc-1 --secret-out FILE`.*nix key generate-secret/);
  assert.equal((await cli(['key', 'rotate', 'nuc-1', '--secret-out', join(state, 'k1.sec')])).code, 0);
  let s = await status(cli);
  assert.deepEqual(s.nodes[0]!.signKeyPaths, [], 'a next key does not sign');
  assert.equal(s.nodes[0]!.trustedPublicKeys.length, 1, 'a next key is published');
  // First promotion: nothing signs yet, so nothing can break; no waiting.
  const p1 = await cli(['key', 'rotate', 'nuc-1', '--json']);
  assert.equal(p1.code, 0, p1.stderr);
  assert.deepEqual(JSON.parse(p1.stdout).promoted, k1);
  // Steady state: rotate creates the next key.
  const c2 = await cli(['key', 'rotate', 'nuc-1', '--secret-out', join(state, 'k2.sec'), '--json']);
  assert.equal(JSON.parse(c2.stdout).key.name, k2);
  // Promoting right away would skip pre-publication.
  oneLine(await cli(['key', 'rotate', 'nuc-1']), 8, /refusing to promote: next key cache\.nuc-1\.n3x\.internal-2 has been published for 0s, less than --min-prepublish 1d.*--force/);
  clock.advance(23 * HOUR);
  oneLine(await cli(['key', 'rotate', 'nuc-1']), 8, /published for 23h/);
  assert.equal((await cli(['key', 'rotate', 'nuc-1', '--min-prepublish', '12h'])).code, 0);
  s = await status(cli);
  assert.deepEqual(s.nodes[0]!.keys.map((k) => [k.name, k.state]), [[k1, 'retiring'], [k2, 'active']]);
  assert.deepEqual(s.nodes[0]!.signKeyPaths, [`/run/agenix/nix-signing-${k2}`]);
  assert.equal(s.nodes[0]!.trustedPublicKeys.length, 2);
  // Retiring right away is refused (cached narinfos may carry only the old signature).
  oneLine(await cli(['key', 'rotate', 'nuc-1']), 8, /refusing to retire: retiring key cache\.nuc-1\.n3x\.internal-1 stopped signing 0s ago/);
  clock.advance(25 * HOUR);
  assert.equal((await cli(['key', 'rotate', 'nuc-1', '--reason', 'all clients on k2'])).code, 0);
  s = await status(cli);
  assert.deepEqual(s.nodes[0]!.keys.map((k) => k.state), ['retired', 'active']);
  assert.equal(s.nodes[0]!.trustedPublicKeys.length, 1);
  assert.ok(s.nodes[0]!.trustedPublicKeys[0]!.startsWith(k2 + ':'));
  // History: every transition with time and reason.
  const h1 = s.nodes[0]!.keys[0]!.history;
  assert.deepEqual(h1.map((h) => [h.from, h.to]), [[null, 'next'], ['next', 'active'], ['active', 'retiring'], ['retiring', 'retired']]);
  assert.equal(h1[3]!.reason, 'all clients on k2');
  assert.equal(h1[3]!.at, '2026-01-03T00:00:00.000Z');
  // --force takes the step and says so; --overlap keeps the old key signing while retiring.
  assert.equal((await cli(['key', 'rotate', 'nuc-1', '--secret-out', join(state, 'k3.sec')])).code, 0);
  const forced = await cli(['key', 'rotate', 'nuc-1', '--force', '--overlap', '--reason', 'k2 host decommissioned']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /forced past the policy/);
  s = await status(cli);
  assert.deepEqual(s.nodes[0]!.signKeyPaths, ['/run/agenix/nix-signing-cache.nuc-1.n3x.internal-3', `/run/agenix/nix-signing-${k2}`]);
  assert.equal(s.nodes[0]!.keys[1]!.history.at(-1)!.reason, 'k2 host decommissioned');
  // Text status names the same keys and paths.
  const text = await cli(['key', 'status', 'nuc-1']);
  assert.match(text.stdout, /harmonia signKeyPaths: \/run\/agenix\/nix-signing-cache\.nuc-1\.n3x\.internal-3 \/run\/agenix\/nix-signing-cache\.nuc-1\.n3x\.internal-2/);
  oneLine(await cli(['key', 'rotate', 'nuc-1', '--min-prepublish', 'soon']), 2, /--min-prepublish must be a duration/);
});

test('key import: format checks, name clash, and revoked keys refused forever', async (t) => {
  const { cli } = await setup(t);
  const kp = generateKeyPair('cache.nuc-1.n3x.internal-1');
  const b64 = kp.publicKey.split(':')[1]!;
  oneLine(await cli(['key', 'import', 'nuc-1', '--public', 'cache.nuc-1.n3x.internal-1:' + Buffer.alloc(64).toString('base64')]), 3, /decodes to 64 bytes, a Nix public key has 32/);
  oneLine(await cli(['key', 'import', 'nuc-1', '--public', 'cache.nuc-1.n3x.internal-1:' + b64.slice(0, -4)]), 3, /decodes to 30 bytes/);
  oneLine(await cli(['key', 'import', 'nuc-1', '--public', 'cache.nuc-1.n3x.internal-1:' + b64.replace(/^.{4}/, '!!!!')]), 3, /not valid padded base64/);
  oneLine(await cli(['key', 'import', 'nuc-1', '--public', b64]), 3, /no ':' \(no key name\)/);
  oneLine(await cli(['key', 'import', 'nuc-1', '--public', 'cache nuc:' + b64]), 3, /may only contain letters/);
  const ok = await cli(['key', 'import', 'nuc-1', '--public', kp.publicKey, '--secret-key-path', '/var/lib/harmonia/secret', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).key.origin, 'imported');
  assert.equal(JSON.parse(ok.stdout).key.secretKeyPath, '/var/lib/harmonia/secret');
  // Same name on another node; same bytes under another name.
  oneLine(await cli(['key', 'import', 'nuc-2', '--public', 'cache.nuc-1.n3x.internal-1:' + generateKeyPair('x').publicKey.split(':')[1]]), 5, /key name cache\.nuc-1\.n3x\.internal-1 is already used by node nuc-1/);
  oneLine(await cli(['key', 'import', 'nuc-2', '--public', 'cache.nuc-2.n3x.internal-1:' + b64]), 5, /already in the inventory as cache\.nuc-1\.n3x\.internal-1/);
  // Revoke, then try to bring it back under its name or under a new name.
  oneLine(await cli(['key', 'revoke', 'cache.nuc-1.n3x.internal-1']), 2, /--reason/);
  const rv = await cli(['key', 'revoke', 'cache.nuc-1.n3x.internal-1', '--reason', 'laptop stolen', '--json']);
  assert.equal(rv.code, 0, rv.stderr);
  assert.equal(JSON.parse(rv.stdout).previousState, 'next');
  oneLine(await cli(['key', 'import', 'nuc-1', '--public', kp.publicKey]), 8, /was revoked and is refused forever/);
  oneLine(await cli(['key', 'import', 'nuc-2', '--public', 'cache.nuc-2.n3x.internal-7:' + b64]), 8, /this public key \(revoked as cache\.nuc-1\.n3x\.internal-1\) was revoked/);
  oneLine(await cli(['key', 'revoke', 'cache.nuc-1.n3x.internal-1', '--reason', 'again']), 5, /already revoked/);
  oneLine(await cli(['key', 'revoke', 'nope-1', '--reason', 'x']), 4, /no signing key named "nope-1"/);
  // The revoked name's number is never reused by generate.
  const g = await cli(['key', 'generate', 'nuc-1', '--secret-out', join(await tempDir(t), 'k.sec'), '--json']);
  assert.equal(JSON.parse(g.stdout).key.name, 'cache.nuc-1.n3x.internal-2');
  const s = await status(cli);
  assert.equal(s.nodes[0]!.trustedPublicKeys.length, 1, 'revoked keys are not published');
});

test('revoking the last active key needs --force, then removes it from trust at once and warns that the node no longer signs', async (t) => {
  const { state, cli } = await setup(t);
  await cli(['key', 'generate', 'nuc-1', '--secret-out', join(state, 'k1.sec')]);
  await cli(['key', 'rotate', 'nuc-1']);
  oneLine(await cli(['key', 'revoke', 'cache.nuc-1.n3x.internal-1', '--reason', 'key leaked']), 8, /refusing to revoke cache\.nuc-1\.n3x\.internal-1: it is the only active key of node nuc-1.*--force/);
  assert.equal((await status(cli)).nodes[0]!.keys[0]!.state, 'active', 'a refused revocation changes nothing');
  const r = await cli(['key', 'revoke', 'cache.nuc-1.n3x.internal-1', '--reason', 'key leaked', '--force']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: node nuc-1 has no active signing key now/);
  const s = await status(cli);
  assert.deepEqual(s.nodes[0]!.trustedPublicKeys, []);
  assert.deepEqual(s.nodes[0]!.signKeyPaths, []);
  assert.equal(s.nodes[0]!.keys[0]!.history.at(-1)!.reason, 'key leaked');
  // Recovery: a new key can be promoted at once (no active key to protect).
  await cli(['key', 'rotate', 'nuc-1', '--secret-out', join(state, 'k2.sec')]);
  assert.equal((await cli(['key', 'rotate', 'nuc-1'])).code, 0);
  assert.deepEqual((await status(cli)).nodes[0]!.signKeyPaths, ['/run/agenix/nix-signing-cache.nuc-1.n3x.internal-2']);
});

test('a fleet-wide shared key is published and used by every node beside their own keys', async (t) => {
  const { state, cli } = await setup(t);
  oneLine(await cli(['key', 'generate', '--shared', '--secret-out', join(state, 's.sec')]), 2, /shared key needs --name/);
  oneLine(await cli(['key', 'generate', 'nuc-1', '--shared', '--secret-out', join(state, 's.sec')]), 2, /either a NODE or --shared/);
  const g = await cli(['key', 'generate', '--shared', '--name', 'cache.n3x.example.com-1', '--secret-out', join(state, 's.sec'), '--json']);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(JSON.parse(g.stdout).key.node, null);
  assert.equal((await cli(['key', 'rotate', '--shared'])).code, 0);
  const all = await cli(['key', 'status', '--json']);
  const s = JSON.parse(all.stdout);
  for (const n of s.nodes) {
    assert.deepEqual(n.signKeyPaths, ['/run/agenix/nix-signing-cache.n3x.example.com-1']);
    assert.equal(n.trustedPublicKeys.length, 1);
  }
  assert.equal(s.shared[0].state, 'active');
  // --host with an auto number for the shared key's successor.
  const next = await cli(['key', 'rotate', '--shared', '--host', 'cache.n3x.example.com', '--secret-out', join(state, 's2.sec'), '--json']);
  assert.equal(JSON.parse(next.stdout).key.name, 'cache.n3x.example.com-2');
  assert.equal((await status(cli)).fleetTrustedPublicKeys.length, 2);
  // verify-narinfo --node trusts exactly what the inventory publishes for that node.
  const file = join(state, 'x.narinfo');
  await writeFile(file, NARINFO);
  assert.equal((await cli(['key', 'sign-narinfo', '--key', join(state, 's2.sec'), '--in-place', file])).code, 0);
  const v = await cli(['key', 'verify-narinfo', '--node', 'nuc-2', file, '--json']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).signatures[0].keyName, 'cache.n3x.example.com-2');
  await cli(['key', 'revoke', 'cache.n3x.example.com-2', '--reason', 'test']);
  assert.equal((await cli(['key', 'verify-narinfo', '--node', 'nuc-2', file])).code, 1, 'a revoked key is no longer trusted');
  oneLine(await cli(['key', 'sign-narinfo', '--key', join(state, 's2.sec'), file]), 8, /cache\.n3x\.example\.com-2 was revoked and must not sign anything/);
  oneLine(await cli(['key', 'status', 'nope']), 4, /no node named/);
});

test('sign-narinfo / verify-narinfo: output modes, exit 1 when no signature is valid, clear input errors', async (t) => {
  const dir = await tempDir(t);
  const kp = generateKeyPair('cache-1');
  await writeFile(join(dir, 'k.sec'), kp.secretKey, { mode: 0o600 });
  const narinfo = NARINFO;
  const file = join(dir, 'x.narinfo');
  await writeFile(file, narinfo);
  const toStdout = await runCli(['key', 'sign-narinfo', '--key', join(dir, 'k.sec'), file]);
  assert.equal(toStdout.code, 0, toStdout.stderr);
  assert.match(toStdout.stdout, /^Sig: cache-1:[A-Za-z0-9+/]{86}==$/m);
  assert.equal(await readFile(file, 'utf8'), narinfo, 'input untouched without --in-place');
  const out = join(dir, 'signed.narinfo');
  assert.equal((await runCli(['key', 'sign-narinfo', '--key', join(dir, 'k.sec'), file, '--out', out])).code, 0);
  assert.equal(await readFile(out, 'utf8'), toStdout.stdout);
  oneLine(await runCli(['key', 'sign-narinfo', '--key', join(dir, 'k.sec'), file, '--out', out]), 5, /refusing to overwrite/);
  const good = await runCli(['key', 'verify-narinfo', '--trusted', kp.publicKey, out]);
  assert.equal(good.code, 0);
  assert.match(good.stdout, /1 valid signature of 1/);
  const bad = await runCli(['key', 'verify-narinfo', '--trusted', generateKeyPair('cache-1').publicKey, out, '--json']);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stdout).signatures[0].verdict, 'bad-signature');
  oneLine(await runCli(['key', 'verify-narinfo', out]), 2, /give the trusted public keys/);
  oneLine(await runCli(['key', 'verify-narinfo', '--trusted', 'nonsense', out]), 3, /no key name/);
  for (const field of ['StorePath', 'NarHash', 'NarSize']) {
    await writeFile(join(dir, `no-${field}.narinfo`), narinfo.replace(new RegExp(`^${field}: .*\\n`, 'm'), ''));
    oneLine(await runCli(['key', 'sign-narinfo', '--key', join(dir, 'k.sec'), join(dir, `no-${field}.narinfo`)]), 3, new RegExp(`has no ${field} line`));
  }
  oneLine(await runCli(['key', 'sign-narinfo', '--key', join(dir, 'missing.sec'), file]), 7, /cannot read secret key file/);
  await writeFile(join(dir, 'short.sec'), 'cache-1:' + Buffer.alloc(32).toString('base64'));
  oneLine(await runCli(['key', 'sign-narinfo', '--key', join(dir, 'short.sec'), file]), 3, /32 bytes, a Nix secret key has 64/);
  const pub = await runCli(['key', 'public', '--key', join(dir, 'k.sec')]);
  assert.equal(pub.stdout.trim(), kp.publicKey);
  // A real process: the exit code table holds outside the in-process runner too.
  const proc = await spawnCli(['key', 'verify-narinfo', '--trusted', generateKeyPair('other-1').publicKey, out]);
  assert.equal(proc.code, 1);
  assert.equal(proc.stderr.trim().split('\n').length, 1);
});

test('key commands refuse a state directory that is not there, and do not create it', async (t) => {
  const dir = await tempDir(t, 'nixca-key-ro-');
  const missing = join(dir, 'typo');
  const narinfo = join(dir, 'x.narinfo');
  await writeFile(narinfo, NARINFO);
  const noState = new RegExp(`no nixca state directory at ${missing}.*nixca issuer init --state ${missing}`);
  oneLine(await runCli(['key', 'status', '--json', '--state', missing]), 4, noState);
  oneLine(await runCli(['key', 'verify-narinfo', narinfo, '--node', 'nuc-1', '--state', missing]), 4, noState);
  oneLine(await runCli(['key', 'generate', 'nuc-1', '--secret-out', join(dir, 'k.sec'), '--state', missing]), 4, noState);
await assert.rejects(stat(missing), { code: 'ENOENT' });
});
