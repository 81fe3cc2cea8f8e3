// Load (issue #6): 500 full issuances at concurrency 50 against a real `nixca serve` process, by
// acme-client (account with EAB, order, http-01, finalize with a P-256 CSR, download). Every one
// must succeed with a chain that verifies up to the development root, each with its own serial.
// Throughput is printed, never asserted (speed is measured by `npm run bench`, not by tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { configureAcmeClient, Http01Responder, pool, prepare, runFlow, splitPem, verifyChain, type FlowOptions } from '../../bench/lib/flow.js';
import { freePort, startNixca, DEFAULT_SUFFIX } from '../../bench/lib/nixca.js';

// Ports in this range (16000–16999), picked free at run time: 16600–16699 / 16200–16299.
const N = 500;
const C = 50;

test(`${N} issuances at concurrency ${C} complete with 0 failures`, { timeout: 300_000 }, async (t) => {
  configureAcmeClient(30_000);
  const PORT = await freePort(16600, 16699);
  const HTTP01_PORT = await freePort(16200, 16299);
  const prefix = `l${randomBytes(3).toString('hex')}`;
  const names = Array.from({ length: N }, (_, i) => `${prefix}-${i}.${DEFAULT_SUFFIX}`);
  const server = await startNixca({ port: PORT, http01Port: HTTP01_PORT, names, logLevel: 'warn' });
  t.after(() => server.stop());
  const responder = new Http01Responder(HTTP01_PORT);
  await responder.start();
  t.after(() => responder.close());
  const preps = await prepare(names);
  const opts: FlowOptions = {
    directory: server.target.directory,
    secureContext: createSecureContext({ ca: readFileSync(server.target.caFile!) }),
    eab: server.target.eab,
    responder,
    pollMs: 100,
    timeoutMs: 120_000,
  };
  const t0 = Date.now();
  const results = await pool(preps, C, (p) => runFlow(p, opts));
  const seconds = (Date.now() - t0) / 1000;
  const failures = results.flatMap((r, i) => (r.ok ? [] : [`${names[i]}: ${r.error}`]));
  t.diagnostic(`${results.length - failures.length}/${N} issued in ${seconds.toFixed(1)} s (${((N - failures.length) / seconds).toFixed(1)}/s) at concurrency ${C}`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} flows failed`);

  const root = splitPem(readFileSync(server.target.issuerRoot!, 'utf8')).map((p) => new X509Certificate(p));
  const serials = new Set<string>();
  results.forEach((r, i) => {
    assert.ok(r.ok);
    assert.equal(verifyChain(names[i]!, r.chainPem, preps[i]!.certKeyPem, root), null, names[i]);
    serials.add(new X509Certificate(splitPem(r.chainPem)[0]!).serialNumber);
  });
  assert.equal(serials.size, N, 'every issuance has its own serial');
  assert.equal(responder.served >= N, true, 'the issuer validated every http-01 challenge by fetching it');
});
