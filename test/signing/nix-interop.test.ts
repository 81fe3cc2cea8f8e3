// Acceptance against real nix (Debian nix-bin 2.8): nixca keys and narinfo signatures are what
// nix makes and accepts. One fixture store per file; every client store is a fresh throw-away
// chroot store. Content-addressed paths are trusted without signatures (nix-notes §1.4), so the
// fixture strips the `CA:` lines: nix then accepts the paths only with a valid signature.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fingerprintPath } from '../../src/signing/fingerprint.js';
import { parseSecretKey, signDetached } from '../../src/signing/keys.js';
import { runCli } from '../helpers/cli.js';
import { nixEnv, type NixEnv } from './nix.js';

let dir: string;
let nix: NixEnv;
let A: string; // /nix/store/…-a.txt
let B: string; // /nix/store/…-b.txt, references A and itself
const keys: Record<'old' | 'new' | 'other' | 'nix', { sec: string; pub: string }> = {} as never;
let stores = 0;

const hashPart = (p: string) => p.slice('/nix/store/'.length, '/nix/store/'.length + 32);
const newStore = () => join(dir, `client-${stores++}`);

/** A fresh copy of the unsigned fixture cache. */
async function freshCache(name: string): Promise<string> {
  const c = join(dir, name);
  await cp(join(dir, 'cache0'), c, { recursive: true });
  return c;
}

async function narinfos(cache: string): Promise<string[]> {
  return (await readdir(cache)).filter((f) => f.endsWith('.narinfo')).map((f) => join(cache, f));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nixca-nix-interop-'));
  nix = await nixEnv(dir);
  await writeFile(join(dir, 'a.txt'), 'a\n');
  await writeFile(join(dir, 'b.txt'), 'b\n');
  A = (await nix.ok('nix-store', ['--store', join(dir, 'src'), '--add', join(dir, 'a.txt')])).trim();
  B = (await nix.ok('nix-store', ['--store', join(dir, 'src'), '--add', join(dir, 'b.txt')])).trim();
  await nix.ok('nix', ['copy', '--store', join(dir, 'src'), '--to', `file://${dir}/cache0?compression=none`, A, B]);
  // Drop CA (so signatures are required) and give B references: itself and A (unsorted on purpose).
  for (const f of await narinfos(join(dir, 'cache0'))) {
    let text = (await readFile(f, 'utf8')).replace(/^CA: .*\n/m, '');
    if (f.endsWith(`${hashPart(B)}.narinfo`)) text = text.replace(/^References: .*$/m, `References: ${B.slice(11)} ${A.slice(11)}`);
    await writeFile(f, text);
  }
  // Keys: two made by nixca's CLI (an old and a new one of a rotation), one more by nixca, one by nix.
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o700 });
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--state', state])).code, 0);
  for (const [k, name] of [['old', 'cache.nuc-1.n3x.internal-1'], ['new', 'cache.nuc-1.n3x.internal-2'], ['other', 'cache.nuc-9.n3x.internal-1']] as const) {
    const sec = join(dir, `${k}.sec`);
    const g = await runCli(['key', 'generate', 'nuc-1', '--name', name, '--secret-out', sec, '--state', state, '--json']);
    assert.equal(g.code, 0, g.stderr);
    keys[k] = { sec, pub: JSON.parse(g.stdout).key.publicKey };
    if (k !== 'other') assert.equal((await runCli(['key', 'rotate', 'nuc-1', '--min-prepublish', '0s', '--state', state])).code, 0);
  }
  await nix.ok('nix-store', ['--generate-binary-cache-key', 'nix-cache-1', join(dir, 'nix.sec'), join(dir, 'nix.pub')]);
  keys.nix = { sec: join(dir, 'nix.sec'), pub: await readFile(join(dir, 'nix.pub'), 'utf8') };
});

after(() => rm(dir, { recursive: true, force: true }));

test('fixture: without a signature nix refuses the paths (so the checks below can fail)', async () => {
  const r = await nix.run('nix', ['copy', '--from', `file://${dir}/cache0`, '--to', newStore(), '--trusted-public-keys', keys.old.pub, B]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /lacks a valid signature/);
});

test('nix store sign accepts a nixca secret, nix store verify accepts the result, and nix signs exactly what nixca fingerprints', async () => {
  const s = newStore();
  await nix.ok('nix', ['copy', '--from', `file://${dir}/cache0`, '--no-check-sigs', '--to', s, B]);
  await nix.ok('nix', ['store', 'sign', '--store', s, '--key-file', keys.old.sec, '--recursive', B]);
  await nix.ok('nix', ['store', 'verify', '--store', s, '--no-contents', '--trusted-public-keys', keys.old.pub, '--recursive', B]);
  const untrusted = await nix.run('nix', ['store', 'verify', '--store', s, '--no-contents', '--trusted-public-keys', keys.other.pub, '--recursive', B]);
  assert.notEqual(untrusted.code, 0);
  assert.match(untrusted.stderr, /untrusted/);
  // nix path-info --json: SRI narHash and full references; ed25519 is deterministic, so nixca's
  // signature over its own fingerprint must be byte-identical to the one nix stored.
  const infos = JSON.parse(await nix.ok('nix', ['path-info', '--store', s, '--json', '--sigs', '--recursive', B])) as Array<{ path: string; narHash: string; narSize: number; references: string[]; signatures: string[] }>;
  assert.equal(infos.length, 2);
  const secret = parseSecretKey(await readFile(keys.old.sec, 'utf8'));
  for (const info of infos) {
    assert.match(info.narHash, /^sha256-/);
    const fp = fingerprintPath({ storePath: info.path, narHash: info.narHash, narSize: info.narSize, references: info.references });
    assert.deepEqual(info.signatures, [signDetached(secret, fp)]);
  }
});

test('a narinfo signed by nixca is accepted by nix copy when its key is trusted, refused when not', async () => {
  const cache = await freshCache('cache-old');
  for (const f of await narinfos(cache)) {
    const r = await runCli(['key', 'sign-narinfo', '--key', keys.old.sec, '--in-place', f]);
    assert.equal(r.code, 0, r.stderr);
  }
  const ok = newStore();
  await nix.ok('nix', ['copy', '--from', `file://${cache}`, '--to', ok, '--trusted-public-keys', keys.old.pub, B]);
  assert.equal((await nix.ok('nix', ['path-info', '--store', ok, B])).trim(), B);
  const refused = await nix.run('nix', ['copy', '--from', `file://${cache}`, '--to', newStore(), '--trusted-public-keys', `${keys.other.pub} ${keys.nix.pub}`, B]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /lacks a valid signature/);
  // The right key bytes under another name do not count (nix looks keys up by name).
  const renamed = 'cache.nuc-1.n3x.internal-9:' + keys.old.pub.split(':')[1];
  const byName = await nix.run('nix', ['copy', '--from', `file://${cache}`, '--to', newStore(), '--trusted-public-keys', renamed, B]);
  assert.notEqual(byName.code, 0);
});

test('rotation: a narinfo signed by the old and the new key is accepted by a client trusting either one', async () => {
  const cache = await freshCache('cache-both');
  for (const f of await narinfos(cache)) {
    const r = await runCli(['key', 'sign-narinfo', '--key', keys.new.sec, '--key', keys.old.sec, '--in-place', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await readFile(f, 'utf8')).match(/^Sig: /gm)?.length, 2);
  }
  for (const trusted of [keys.old.pub, keys.new.pub]) {
    const s = newStore();
    await nix.ok('nix', ['copy', '--from', `file://${cache}`, '--to', s, '--trusted-public-keys', trusted, B]);
    assert.equal((await nix.ok('nix', ['path-info', '--store', s, '--recursive', B])).trim().split('\n').length, 2);
  }
  const neither = await nix.run('nix', ['copy', '--from', `file://${cache}`, '--to', newStore(), '--trusted-public-keys', keys.other.pub, B]);
  assert.notEqual(neither.code, 0);
  const v = await runCli(['key', 'verify-narinfo', '--trusted', `${keys.old.pub} ${keys.new.pub}`, join(cache, `${hashPart(B)}.narinfo`), '--json']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).validCount, 2);
});

test('nixca verifies signatures that nix made (nix copy --to file://…?secret-key=…), with a nix key and a nixca key', async () => {
  const s = newStore();
  await nix.ok('nix', ['copy', '--from', `file://${dir}/cache0`, '--no-check-sigs', '--to', s, B]);
  for (const k of [keys.nix, keys.new]) {
    const cache = join(dir, `cache-by-nix-${k === keys.nix ? 'nix' : 'nixca'}`);
    await nix.ok('nix', ['copy', '--store', s, '--to', `file://${cache}?compression=none&secret-key=${k.sec}`, B]);
    const file = join(cache, `${hashPart(B)}.narinfo`);
    assert.match(await readFile(file, 'utf8'), /^References: \S+-a\.txt \S+-b\.txt$/m);
    const good = await runCli(['key', 'verify-narinfo', '--trusted', `${keys.other.pub} ${k.pub}`, file, '--json']);
    assert.equal(good.code, 0, good.stderr);
    const report = JSON.parse(good.stdout);
    assert.equal(report.validCount, 1);
    assert.equal(report.signatures[0].trustedKey, k.pub);
    const bad = await runCli(['key', 'verify-narinfo', '--trusted', keys.other.pub, file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no signature is valid under the trusted keys/);
    assert.match(bad.stdout, /untrusted-key-name/);
  }
});
