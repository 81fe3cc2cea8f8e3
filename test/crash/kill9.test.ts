// Crash safety under load (issue #6): a real `nixca serve` process, 200 concurrent issuances by
// acme-client, and SIGKILL at random moments (restarting on the same state each time). Afterwards:
// nothing on disk is half-written, the store opens, every certificate a client received is in the
// store, no serial was issued twice, every interrupted client completed its order or a new one,
// every certificate a client revoked (one in four, during the kills) is revoked in the store,
// every certificate and revocation in the store has its audit entry, and `nixca audit verify` passes.
// No timing is asserted: how long it took is printed, never checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FlowClient, pool, prepare, runFlow, splitPem, verifyChain, type FlowOptions, type Prepared } from '../../bench/lib/flow.js';
import { resilientFlow, type ResilientResult } from '../../bench/lib/resilient.js';
import { startRig } from '../../bench/lib/rig.js';
import { openAcmeStore } from '../../src/store/acme.js';
import { readAudit } from '../../src/audit/log.js';
import { auditedSerials } from '../../src/audit/recover.js';
import { runCli } from '../helpers/cli.js';
import { normalizeSerial } from '../../src/ca/serial.js';

// Ports: the kernel's pick at run time (port 0), so the suite runs beside other services.
const CLIENTS = 200;
const KILLS = 4;
/** Every REVOKE_EVERY-th client revokes its certificate once it has it (RFC 8555 §7.6), under the kills too. */
const REVOKE_EVERY = 4;

/**
 * Revokes `chainPem` with the account's key, surviving the server's death as resilientFlow does: a
 * transport error waits for the restart and retries; alreadyRevoked (a revocation whose answer the
 * crash lost) counts as done. Returns the trail of what failed on the way.
 */
async function revokeSurviving(prep: Prepared, opts: FlowOptions, chainPem: string, waitForServer: () => Promise<void>): Promise<{ ok: boolean; trail: string[] }> {
  const trail: string[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    const fc = new FlowClient(prep, opts);
    try {
      // §7.3.1: newAccount with a known key finds the account again (no new one is made).
      await fc.client.createAccount({ termsOfServiceAgreed: true });
      await fc.client.revokeCertificate(splitPem(chainPem)[0]!, { reason: 4 });
      return { ok: true, trail };
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      trail.push(msg);
      if (/already revoked|alreadyRevoked/i.test(msg)) return { ok: true, trail };
      if (!/transport error|socket hang up|ECONNRE|EPIPE|ETIMEDOUT|timeout/i.test(msg)) return { ok: false, trail };
      await waitForServer();
    } finally {
      fc.destroy();
    }
  }
  return { ok: false, trail };
}

/** Every file under `dir`, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * "Nothing on disk is half-written": every JSON file parses; every JSON-lines log parses line by
 * line, except that its last line may be torn (no final newline) when the process was killed
 * mid-append. Returns the torn tails found (file names).
 */
function checkFilesWhole(stateDir: string): string[] {
  const torn: string[] = [];
  for (const f of walk(stateDir)) {
    if (f.endsWith('.json')) {
      assert.doesNotThrow(() => JSON.parse(readFileSync(f, 'utf8')), `${f} is not whole JSON`);
    } else if (f.endsWith('.jsonl')) {
      const text = readFileSync(f, 'utf8');
      const lines = text.split('\n');
      const last = lines.pop()!; // '' when the file ends with a newline
      lines.forEach((l, i) => {
        if (l === '') return;
        assert.doesNotThrow(() => JSON.parse(l), `${f} line ${i + 1} is damaged (not the last line)`);
      });
      if (last !== '') torn.push(f);
    }
  }
  return torn;
}

test('SIGKILL during 200 concurrent issuances loses nothing and leaves the store consistent', { timeout: 240_000 }, async (t) => {
  const { server, extraNames, preps, opts, roots } = await startRig(t, {
    count: CLIENTS,
    extraNames: 1,
    prefix: 'k',
    pollMs: 50,
    // Per attempt: an order that makes no progress for this long is replaced by a new one.
    timeoutMs: 20_000,
    httpTimeoutMs: 15_000,
  });
  const extraName = extraNames[0]!;

  // The server's availability as a promise clients wait on after a transport error.
  let up: Promise<void> = Promise.resolve();
  const t0 = Date.now();
  let finished = false;
  const revokes: Array<{ name: string; ok: boolean; trail: string[] }> = [];
  let revoking!: () => void;
  const firstRevocation = new Promise<void>((r) => (revoking = r));
  const clients = pool(preps, CLIENTS, async (p, i) => {
    const r = await resilientFlow(p, opts, () => up);
    if (r.ok && i % REVOKE_EVERY === 0) {
      revoking();
      revokes.push({ name: p.name, ...(await revokeSurviving(p, opts, r.chainPem!, () => up)) });
    }
    return r;
  }).finally(() => (finished = true));

  const killLog: string[] = [];
  const tornSeen: string[] = [];
  for (let k = 0; k < KILLS + 1 && !finished; k++) {
    // Random moments, early enough that the load is still running (the server does ~50-60/s here);
    // the last one once clients have begun to revoke, so that revocations are interrupted too.
    if (k === KILLS) await Promise.race([firstRevocation, clients]);
    await new Promise((r) => setTimeout(r, (k === KILLS ? 20 : 150) + Math.random() * (k === KILLS ? 200 : 750)));
    if (finished) break;
    let markUp!: () => void;
    up = new Promise((r) => (markUp = r));
    const before = Date.now() - t0;
    await server.kill();
    // The files exactly as the crash left them, before the restarted store repairs a torn tail.
    for (const f of checkFilesWhole(server.stateDir)) tornSeen.push(`kill ${k + 1}: ${f.slice(server.stateDir.length + 1)}`);
    await server.restart();
    markUp();
    killLog.push(`kill ${k + 1} at ${before} ms, back after ${Date.now() - t0 - before} ms`);
  }
  const results: ResilientResult[] = await clients;
  // One last SIGKILL, so the files are checked exactly as a crash leaves them.
  await server.kill();
  const elapsed = Date.now() - t0;

  const failed = results.filter((r) => !r.ok);
  const interrupted = results.filter((r) => r.interruptions > 0);
  const reordered = results.filter((r) => r.orders > 1);
  t.diagnostic(`${killLog.length} kills: ${killLog.join('; ')}`);
  t.diagnostic(`${results.length - failed.length}/${results.length} issued; ${interrupted.length} clients interrupted, ${reordered.length} started a new order; ${elapsed} ms`);
  const reasons = new Map<string, number>();
  for (const r of results) for (const m of r.trail) {
    const k = m.replace(/https:\/\/\S+/g, 'URL').replace(/[A-Za-z0-9_-]{20,}/g, '<id>').slice(0, 120);
    reasons.set(k, (reasons.get(k) ?? 0) + 1);
  }
  t.diagnostic(`what clients saw: ${[...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${n}x ${k}`).join(' || ')}`);
  assert.ok(killLog.length >= 2, `the server was killed only ${killLog.length} times before the clients finished`);
  assert.ok(interrupted.length > 0, 'no client was interrupted: the kills missed the load');
  assert.deepEqual(
    failed.map((r) => `${r.name}: ${r.error} [${r.trail.slice(-3).join(' | ')}]`),
    [],
    'every interrupted client completes its order or a new one',
  );
  t.diagnostic(`${revokes.length} revocations, ${revokes.filter((r) => r.trail.length > 0).length} of them interrupted`);
  assert.equal(revokes.length, Math.ceil(CLIENTS / REVOKE_EVERY));
  assert.deepEqual(revokes.filter((r) => !r.ok).map((r) => `${r.name}: ${r.trail.join(' | ')}`), [], 'every revocation completes');

  // Nothing half-written (before the store gets a chance to repair a torn tail at open).
  for (const f of checkFilesWhole(server.stateDir)) tornSeen.push(`final kill: ${f.slice(server.stateDir.length + 1)}`);
  t.diagnostic(`torn last lines left by the kills (allowed; the store drops them at open): ${tornSeen.length ? tornSeen.join(', ') : 'none'}`);

  // A crash in the middle of an append leaves a torn last line; the kills above rarely land inside
  // one (appends are short), so make one on every log, as such a crash would, and restart on it:
  // the server must start, ignore the fragments, and keep issuing.
  const logs = walk(join(server.stateDir, 'acme')).filter((f) => f.endsWith('.jsonl'));
  assert.ok(logs.length > 0, 'the store has no JSON-lines logs to check');
  for (const f of logs) appendFileSync(f, '{"t":"cert","v":{"serial":"7f');
  await server.restart();
  const [extraPrep] = await prepare([extraName]);
  const extra = await runFlow(extraPrep!, opts);
  assert.ok(extra.ok, `issuance after restarting on torn logs failed: ${extra.ok ? '' : extra.error}`);
  await server.stop({ keepState: true });
  for (const f of logs) assert.ok(readFileSync(f, 'utf8').endsWith('\n'), `${f}: the torn fragment was not dropped`);

  // The store opens on what the crashes left.
  const store = await openAcmeStore(server.stateDir);
  try {
    const root = roots();
    const received = new Map<string, string>();
    for (const [i, r] of results.entries()) {
      assert.equal(verifyChain(r.name, r.chainPem!, preps[i]!.certKeyPem, root), null, `${r.name}: chain does not verify`);
      const serial = normalizeSerial(new X509Certificate(splitPem(r.chainPem!)[0]!).serialNumber);
      assert.ok(!received.has(serial), `serial ${serial} was given to ${received.get(serial)} and ${r.name}`);
      received.set(serial, r.name);
      const rec = await store.getCertificate(serial);
      assert.ok(rec, `${r.name}: received certificate ${serial} is not in the store`);
      assert.deepEqual(rec.names, [r.name]);
    }
    // Each order was issued at most once (a finalize retried across a crash must not sign twice).
    const all = await store.listCertificates();
    const byOrder = new Map<string, number>();
    for (const c of all) byOrder.set(c.orderId, (byOrder.get(c.orderId) ?? 0) + 1);
    assert.deepEqual([...byOrder].filter(([, n]) => n > 1), [], 'an order was issued twice');
    assert.ok(all.length >= received.size);
    const extraSerial = normalizeSerial(new X509Certificate(splitPem(extra.ok ? extra.chainPem : '')[0]!).serialNumber);
    assert.deepEqual((await store.getCertificate(extraSerial))?.names, [extraName]);
    assert.ok(!received.has(extraSerial));
    // No serial twice on disk: the store's index is a map, so count the certificate lines themselves.
    const ledgerSerials = readFileSync(join(server.stateDir, 'acme', 'ledger.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t: string; v: { serial?: string } })
      .filter((e) => e.t === 'cert')
      .map((e) => e.v.serial!);
    assert.equal(new Set(ledgerSerials).size, ledgerSerials.length, 'a serial appears twice in the ledger');
    t.diagnostic(`store: ${all.length} certificates (${all.length - received.size - 1} issued but never downloaded by a client, 1 after the torn-log restart)`);
    // Every certificate and revocation in the store has its audit entry (written with it, or
    // recovered at a restart), and the log verifies, with the store cross-checked.
    const { issued, revoked } = await auditedSerials(server.stateDir);
    assert.deepEqual(all.map((c) => c.serial).filter((s) => !issued.has(s)), [], 'certificates without an audit entry');
    const revocations = (await store.listRevocations()).map((r) => r.serial);
    // Each client-revoked certificate is revoked in the store (so the check below is not vacuous).
    const wantRevoked = revokes.map((r) => [...received].find(([, n]) => n === r.name)![0]);
    assert.deepEqual(wantRevoked.filter((s) => !revocations.includes(s)), [], 'a revocation a client completed is not in the store');
    assert.deepEqual(revocations.filter((s) => !revoked.has(s)), [], 'revocations without an audit entry');
    const recovered = (await readAudit(server.stateDir)).records.filter((r) => r.details.recovered === true).length;
    t.diagnostic(`audit: ${issued.size} certificate.issued and ${revoked.size} certificate.revoked entries, ${recovered} of them recovered at a restart`);
  } finally {
    await store.close();
  }
  const verify = await runCli(['audit', 'verify', '--state', server.stateDir]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});
