// The ceremony is atomic: a crash at each write point of each step (simulated by a fault hook that
// throws there, so nothing after it runs) leaves the root directory before the step, after it, or
// in a state that every later command refuses (exit 5) until `root transcript repair` records what
// happened; then the transcript verifies and the ceremony goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueRootCrl } from '../../src/ceremony/crl.js';
import { revokeIntermediate } from '../../src/ceremony/revoke.js';
import type { CommitPoint } from '../../src/ceremony/root-dir.js';
import { rotateRoot } from '../../src/ceremony/rotate.js';
import { signIntermediate } from '../../src/ceremony/sign-intermediate.js';
import { runCli } from '../helpers/cli.js';
import { countingPassphrase, fixture, ROOT_PASS, type Fixture } from './fixture.js';

type Outcome = 'before' | 'after' | 'detected';

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    // .lock is only where the kernel lock is taken (src/store/lock.ts); it stays, empty, by design.
    if (e.isFile() && e.name !== '.lock') out[join(e.parentPath, e.name)] = createHash('sha256').update(await readFile(join(e.parentPath, e.name))).digest('hex');
  }
  return out;
}

const events = async (dir: string) => (await readFile(join(dir, 'transcript.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);

/** What every later command sees, and (when refused) repair, verify and the next step. */
async function checkAfterCrash(f: Fixture, dir: string, outcome: Outcome, event: string, eventsBefore: string[]) {
  const verify = await runCli(['root', 'transcript', 'verify', '--dir', dir]);
  const crl = () => runCli(['root', 'crl', '--dir', dir, '--out', join(f.base, 'out', 'next.crl'), '--passphrase-file', f.passFile]);
  if (outcome !== 'detected') {
    assert.equal(verify.code, 0, verify.stderr);
    assert.deepEqual(await events(dir), outcome === 'before' ? eventsBefore : [...eventsBefore, event]);
    const r = await crl();
    assert.equal(r.code, 0, r.stderr);
    return;
  }
  assert.equal(verify.code, 1, verify.stdout + verify.stderr);
  const before = await snapshot(dir);
  const refused = await crl();
  assert.equal(refused.code, 5, refused.stderr);
  assert.match(refused.stderr, /nothing was done\. Record what happened with "nixca root transcript repair --dir /);
  assert.equal(refused.stderr.trim().split('\n').length, 1);
  assert.deepEqual(await snapshot(dir), before, 'the refused command changed nothing');
  // repair asks for the root secret: without one it stops, having changed nothing.
  assert.equal((await runCli(['root', 'transcript', 'repair', '--dir', dir])).code, 2);
  const repaired = await runCli(['root', 'transcript', 'repair', '--dir', dir, '--passphrase-file', f.passFile, '--json']);
  assert.equal(repaired.code, 0, repaired.stderr);
  const result = JSON.parse(repaired.stdout) as { repaired: boolean; findings: string[] };
  assert.equal(result.repaired, true);
  assert.ok(result.findings.length > 0);
  const ok = await runCli(['root', 'transcript', 'verify', '--dir', dir, '--json']);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.equal(JSON.parse(ok.stdout).events.at(-1).event, 'root.repair');
  const again = await runCli(['root', 'transcript', 'repair', '--dir', dir, '--json']);
  assert.equal(JSON.parse(again.stdout).repaired, false, 'a second repair finds nothing (and asks for no secret)');
  const next = await crl();
  assert.equal(next.code, 0, next.stderr);
  return result;
}

const crash = (at: CommitPoint) => (point: CommitPoint) => {
  if (point === at) throw new Error(`simulated crash at ${point}`);
};

test('a crash at every write point of every step: before, after, or refused until repaired', async (t) => {
  const f = await fixture(t);
  const p = countingPassphrase();
  const sign = (dir: string, out: string, fault?: (p: CommitPoint) => void) => signIntermediate({ dir, csrPath: f.csr, out, secret: p.source, fault });
  const cases: { step: string; event: string; at: CommitPoint; outcome: Outcome; run: (dir: string, fault: (p: CommitPoint) => void) => Promise<unknown>; prepare?: (dir: string) => Promise<unknown> }[] = [];
  const signOut = (dir: string) => join(dir, '..', 'out', `${dir.split('/').pop()}.pem`);
  for (const [at, outcome] of [['files', 'before'], ['transcript', 'detected'], ['ledger', 'detected'], ['out', 'after']] as const) {
    cases.push({ step: 'sign-intermediate', event: 'root.sign-intermediate', at, outcome, run: (dir, fault) => sign(dir, signOut(dir), fault) });
    cases.push({ step: 'crl', event: 'root.crl', at, outcome: at === 'transcript' ? 'before' : outcome, run: (dir, fault) => issueRootCrl({ dir, out: join(dir, 'root.crl'), nextUpdateMs: 86_400_000, secret: p.source, fault }) });
  }
  for (const [at, outcome] of [['files', 'before'], ['transcript', 'before'], ['ledger', 'detected']] as const) {
    cases.push({
      step: 'revoke',
      event: 'root.revoke',
      at,
      outcome,
      prepare: (dir) => sign(dir, join(dir, 'signed.pem')),
      run: async (dir, fault) => {
        const serial = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8')).intermediates[0].serial as string;
        return revokeIntermediate({ dir, serial, reason: 'keyCompromise', secret: p.source, fault });
      },
    });
  }
  for (const [at, outcome] of [['files', 'before'], ['transcript', 'detected'], ['ledger', 'detected']] as const) {
    cases.push({ step: 'rotate', event: 'root.rotate', at, outcome, run: (dir, fault) => rotateRoot({ dir, secret: p.source, newRoot: { dir: `${dir}-new`, passphrase: p.ask }, cross: true, fault }) });
  }
  for (const c of cases) {
    await t.test(`${c.step}, crash before the ${c.at} write: ${c.outcome}`, async () => {
      const dir = await f.root(`${c.step}-${c.at}`);
      await c.prepare?.(dir);
      const eventsBefore = await events(dir);
      await assert.rejects(c.run(dir, crash(c.at)), /simulated crash/);
      const result = await checkAfterCrash(f, dir, c.outcome, c.event, eventsBefore);
      if (c.step === 'sign-intermediate' && c.at === 'transcript') {
        // The certificate was on disk but in no record: repair recorded it, so it can be revoked.
        const ledger = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8'));
        assert.equal(ledger.intermediates.length, 1);
        assert.match(result!.findings[0]!, /intermediates\/[0-9a-f]+\.pem is a certificate file that no record names/);
        await assert.rejects(stat(signOut(dir)), 'nothing left the root directory');
      }
      if (c.step === 'rotate' && c.at === 'transcript') {
        assert.equal(JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8')).crossCertificates.length, 1);
        assert.equal((await runCli(['root', 'transcript', 'verify', '--dir', `${dir}-new`])).code, 0);
      }
    });
  }
});

test('a ledger ahead of its transcript (a crash of the old write order) is refused, not rewritten by the next crl', async (t) => {
  const f = await fixture(t);
  const dir = await f.root('legacy');
  let r = await runCli(['root', 'sign-intermediate', '--dir', dir, '--csr', f.csr, '--out', join(f.base, 'out', 'i.pem'), '--passphrase-file', f.passFile, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const serial = JSON.parse(r.stdout).serial as string;
  const lines = (await readFile(join(dir, 'transcript.jsonl'), 'utf8')).trimEnd().split('\n');
  await writeFile(join(dir, 'transcript.jsonl'), lines.slice(0, -1).join('\n') + '\n');
  r = await runCli(['root', 'transcript', 'verify', '--dir', dir]);
  assert.equal(r.code, 1);
  r = await runCli(['root', 'transcript', 'verify', '--dir', dir, '--json']);
  assert.ok(JSON.parse(r.stdout).problems.some((x: { reason: string }) => x.reason.includes(`the ledger lists intermediate ${serial} that the transcript does not record`)), r.stdout);
  r = await runCli(['root', 'crl', '--dir', dir, '--out', join(f.base, 'out', 'x.crl'), '--passphrase-file', f.passFile]);
  assert.equal(r.code, 5, r.stderr);
  await assert.rejects(stat(join(f.base, 'out', 'x.crl')));
  r = await runCli(['root', 'transcript', 'repair', '--dir', dir, '--passphrase-file', f.passFile, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).adopted.intermediates.map((i: { serial: string }) => i.serial), [serial]);
  r = await runCli(['root', 'transcript', 'verify', '--dir', dir, '--json']);
  assert.deepEqual(JSON.parse(r.stdout).events.map((e: { event: string }) => e.event), ['root.init', 'root.repair']);
  r = await runCli(['root', 'revoke', '--dir', dir, '--serial', serial, '--passphrase-file', f.passFile]);
  assert.equal(r.code, 0, r.stderr);
});

test('a certificate write torn before its rename is found; repair removes a torn one and records a complete one', async (t) => {
  const f = await fixture(t);
  const dir = await f.root('torn');
  let r = await runCli(['root', 'sign-intermediate', '--dir', dir, '--csr', f.csr, '--out', join(f.base, 'out', 't.pem'), '--passphrase-file', f.passFile, '--json']);
  const signed = JSON.parse(r.stdout) as { serial: string };
  const pem = await readFile(join(dir, 'intermediates', `${signed.serial}.pem`), 'utf8');
  // A second, unrecorded certificate left under its temporary name, and a torn one.
  const other = await f.root('other');
  r = await runCli(['root', 'sign-intermediate', '--dir', other, '--csr', f.csr, '--out', join(f.base, 'out', 'o.pem'), '--passphrase-file', f.passFile, '--json']);
  const unrecorded = JSON.parse(r.stdout) as { serial: string };
  // (Same root key in both copies, so the certificate made in `other` verifies under `dir`'s root.)
  await writeFile(join(dir, 'intermediates', `.${unrecorded.serial}.pem.0123456789ab.tmp`), await readFile(join(f.base, 'out', 'o.pem')));
  await writeFile(join(dir, 'intermediates', '.deadbeef.pem.ba9876543210.tmp'), pem.slice(0, 100));
  r = await runCli(['root', 'crl', '--dir', dir, '--out', join(f.base, 'out', 'x.crl'), '--passphrase-file', f.passFile]);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /a certificate write that never finished/);
  r = await runCli(['root', 'transcript', 'repair', '--dir', dir, '--passphrase-file', f.passFile, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const repair = JSON.parse(r.stdout);
  assert.deepEqual(repair.adopted.intermediates.map((i: { serial: string }) => i.serial), [unrecorded.serial]);
  assert.deepEqual(repair.removed.map((x: { file: string }) => x.file), ['intermediates/.deadbeef.pem.ba9876543210.tmp']);
  assert.deepEqual((await readdir(join(dir, 'intermediates'))).sort(), [`${signed.serial}.pem`, `${unrecorded.serial}.pem`].sort());
  assert.equal((await runCli(['root', 'transcript', 'verify', '--dir', dir])).code, 0);
  // A file that is no certificate of this root is not adopted: repair refuses and changes nothing.
  await writeFile(join(dir, 'intermediates', 'notes.pem'), 'my notes');
  const before = await snapshot(dir);
  r = await runCli(['root', 'transcript', 'repair', '--dir', dir, '--passphrase-file', f.passFile]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /intermediates\/notes\.pem is not a certificate signed by this root; move it out/);
  assert.deepEqual(await snapshot(dir), before);
});

test('sign-intermediate --out in a missing directory fails before anything is signed or recorded', async (t) => {
  const f = await fixture(t);
  const dir = await f.root('missing-out');
  const before = await snapshot(dir);
  const r = await runCli(['root', 'sign-intermediate', '--dir', dir, '--csr', f.csr, '--out', join(f.base, 'missing-dir', 'x.pem'), '--passphrase-file', join(f.base, 'no-such-passphrase-file')]);
  // Exit 7 for the output path, not for the passphrase file: the secret was never read.
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /cannot write intermediate certificate .*missing-dir\/x\.pem: the directory .*missing-dir does not exist/);
  assert.deepEqual(await snapshot(dir), before);
});

test('a process killed (SIGKILL) inside the commit: the lock is free and the next command refuses until repair', async (t) => {
  const f = await fixture(t);
  const module = new URL('../../src/ceremony/sign-intermediate.js', import.meta.url).href;
  for (const at of ['transcript', 'ledger'] as const) {
    const dir = await f.root(`killed-${at}`);
    // The child signs with a fault hook that kills its own process at the write point: no
    // finally block, no lock release, no cleanup runs, as in a power cut.
    const script = `
      const { signIntermediate } = await import(${JSON.stringify(module)});
      const [dir, csrPath, out, pass, at] = process.argv.slice(1);
      await signIntermediate({ dir, csrPath, out, secret: { passphrase: async () => pass }, fault: (p) => { if (p === at) process.kill(process.pid, 'SIGKILL'); } });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir, f.csr, join(f.base, 'out', `killed-${at}.pem`), ROOT_PASS, at], { stdio: 'ignore' });
    const [, signal] = await once(child, 'exit');
    assert.equal(signal, 'SIGKILL');
    await checkAfterCrash(f, dir, 'detected', 'root.sign-intermediate', ['root.init']);
  }
});

test('a damaged ledger.json (cut, not JSON, another root\'s) is refused by every command, reported by verify, and rebuilt from the transcript by repair', async (t) => {
  const f = await fixture(t);
  const dir = await f.root('damaged-ledger');
  const r = await runCli(['root', 'sign-intermediate', '--dir', dir, '--csr', f.csr, '--out', join(f.base, 'out', 'i.pem'), '--passphrase-file', f.passFile]);
  assert.equal(r.code, 0, r.stderr);
  const whole = await readFile(join(dir, 'ledger.json'), 'utf8');
  const ledgerOf = (text: string) => {
    const { transcriptHead: _h, ...rest } = JSON.parse(text) as Record<string, unknown>;
    return rest;
  };
  const other = JSON.stringify({ ...JSON.parse(whole), root: { ...JSON.parse(whole).root, sha256: '00'.repeat(32) } });
  // Parses and names this root, but is no ledger every other command would read.
  const foreignFormat = JSON.stringify({ ...JSON.parse(whole), format: 'not-a-nixca-ledger' });
  for (const damaged of [whole.slice(0, 100), other, foreignFormat]) {
    await writeFile(join(dir, 'ledger.json'), damaged);
    const result = await checkAfterCrash(f, dir, 'detected', 'root.crl', await events(dir));
    assert.match(result!.findings[0]!, /ledger\.json (is damaged \(not JSON\)|belongs to another root|is not a nixca root ledger).*\(repair rebuilds it from the transcript\)/);
    assert.deepEqual(ledgerOf(await readFile(join(dir, 'ledger.json'), 'utf8')), { ...ledgerOf(whole), crlNumber: ledgerOf(await readFile(join(dir, 'ledger.json'), 'utf8')).crlNumber });
  }
});
