// Load (issue #6): 500 full issuances at concurrency 50 against a real `nixca serve` process, by
// acme-client (account with EAB, order, http-01, finalize with a P-256 CSR, download). Every one
// must succeed with a chain that verifies up to the development root, each with its own serial.
// Throughput is printed, never asserted (speed is measured by `npm run bench`, not by tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { pool, runFlow, splitPem, verifyChain } from '../../bench/lib/flow.js';
import { startRig } from '../../bench/lib/rig.js';

// Ports: the kernel's pick at run time (port 0), so the suite runs beside other services.
const N = 500;
const C = 50;

test(`${N} issuances at concurrency ${C} complete with 0 failures`, { timeout: 300_000 }, async (t) => {
  const { responder, names, preps, opts, roots } = await startRig(t, {
    count: N,
    prefix: 'l',
    pollMs: 100,
    timeoutMs: 120_000,
    httpTimeoutMs: 30_000,
  });
  const t0 = Date.now();
  const results = await pool(preps, C, (p) => runFlow(p, opts));
  const seconds = (Date.now() - t0) / 1000;
  const failures = results.flatMap((r, i) => (r.ok ? [] : [`${names[i]}: ${r.error}`]));
  t.diagnostic(`${results.length - failures.length}/${N} issued in ${seconds.toFixed(1)} s (${((N - failures.length) / seconds).toFixed(1)}/s) at concurrency ${C}`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} flows failed`);

  const root = roots();
  const serials = new Set<string>();
  results.forEach((r, i) => {
    assert.ok(r.ok);
    assert.equal(verifyChain(names[i]!, r.chainPem, preps[i]!.certKeyPem, root), null, names[i]);
    serials.add(new X509Certificate(splitPem(r.chainPem)[0]!).serialNumber);
  });
  assert.equal(serials.size, N, 'every issuance has its own serial');
  assert.equal(responder.served >= N, true, 'the issuer validated every http-01 challenge by fetching it');
});
