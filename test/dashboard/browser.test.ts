// The dashboard in a real browser: Debian's Chromium (headless, driven by puppeteer-core, no
// browser download) against a real `nixca serve --dashboard --probe-interval`, with two nodes
// whose certificates real lego obtained, one of them revoked by lego, and a TLS "node" serving
// each node's certificate for the probes. Checks what an operator would look at, that nothing
// logs a console error or a CSP violation, axe-core's verdict, and writes screenshots
// (NIXCA_TEST_ARTIFACTS, default test-artifacts/dashboard; docs/dashboard-fleet.png is one).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { runCli, tempDir } from '../helpers/cli.js';
import { addNodeWithEab, httpsGet, opensslText, requireTool, run, startIssuer, type Issuer } from '../interop/helpers.js';
import { timeLeft } from '../../src/dashboard/client/time-left.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const ARTIFACTS = process.env.NIXCA_TEST_ARTIFACTS ? join(process.env.NIXCA_TEST_ARTIFACTS, 'dashboard') : join(REPO, 'test-artifacts', 'dashboard');
// Valid (one DNS label) but shaped like markup an attacker would try: it must show up as text.
const HOSTILE = 'script-onerror-alert-1';
const NODES = { alpha: 'cache.alpha.n3x.internal', [HOSTILE]: `cache.${HOSTILE}.n3x.internal` } as const;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function legoRun(issuer: Issuer, dir: string, node: string, name: string, eab: { kid: string; hmac: string }, http01: number) {
  const path = join(dir, `lego-${node}`);
  const env = { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: issuer.rootPath };
  const base = ['--server', issuer.directory, '--path', path, '--accept-tos', '--email', `ops@${name}`, '--eab', '--kid', eab.kid, '--hmac', eab.hmac, '--domains', name, '--http', '--http.port', `127.0.0.1:${http01}`];
  const lego = (args: string[]) => run('lego', [...base, ...args], { env, timeoutMs: 90_000 });
  const r = await lego(['run']);
  assert.equal(r.code, 0, `lego run ${name}: ${r.stdout}\n${r.stderr.slice(-3000)}\n${issuer.log().slice(-2000)}`);
  const crt = join(path, 'certificates', `${name}.crt`);
  return { crt, key: join(path, 'certificates', `${name}.key`), revoke: () => lego(['revoke', '--reason', '1', '--keep']) };
}

/** A node as the probes see it: HTTPS on one port, the node's certificate chosen by SNI, a nix-cache-info. */
async function fakeNodes(port: number, certs: Record<string, { crt: string; key: string }>): Promise<{ close(): Promise<void> }> {
  const ctx: Record<string, ReturnType<typeof createSecureContext>> = {};
  for (const [name, c] of Object.entries(certs)) ctx[name] = createSecureContext({ cert: await readFile(c.crt), key: await readFile(c.key) });
  const first = Object.values(certs)[0]!;
  const server = createHttpsServer({ cert: await readFile(first.crt), key: await readFile(first.key), SNICallback: (sn, cb) => cb(null, ctx[sn]) }, (req, res) => {
    if (req.url === '/nix-cache-info') res.end('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { close: () => new Promise((r) => server.close(() => r())) };
}

interface Watched {
  problems: string[];
}

async function openPage(browser: Browser, url: string, watched: Watched): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 900 });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') watched.problems.push(`console ${m.type()}: ${m.text()} (${url})`);
  });
  page.on('pageerror', (e) => watched.problems.push(`page error: ${(e as Error).message} (${url})`));
  page.on('requestfailed', (r) => watched.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText} (${url})`));
  page.on('dialog', (d) => {
    watched.problems.push(`a dialog opened (script ran?): ${d.message()}`);
    void d.dismiss();
  });
  const res = await page.goto(url, { waitUntil: 'networkidle0' });
  assert.equal(res?.status(), 200, url);
  assert.ok(res?.headers()['content-security-policy']?.includes("default-src 'none'"), `CSP on ${url}`);
  return page;
}

async function axeSerious(page: Page, axeSource: string): Promise<string[]> {
  // DevTools evaluation is not subject to the page's CSP, so axe needs no exception in it.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(() => (globalThis as unknown as { axe: { run(o: object): Promise<unknown> } }).axe.run({ resultTypes: ['violations'] }))) as { violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('the dashboard in Chromium', { timeout: 300_000 }, () => {
  it('two lego nodes, one revoked: overview, timeline, probes, refresh, CSP, axe, screenshots', async (t) => {
    await requireTool('lego');
    await requireTool(CHROMIUM, ['--version']);
    const dir = await tempDir(t, 'nixca-dash-browser-');
    const state = join(dir, 'state');
    await mkdir(state, { mode: 0o700 }); // node add needs an existing state directory
    const eabs: Record<string, { kid: string; hmac: string }> = {};
    for (const [node, name] of Object.entries(NODES)) eabs[node] = await addNodeWithEab(state, node, [name]);
    // Signing keys as a fleet has them: each node an active key (its first is promoted at once), alpha also a next one.
    for (const [node, step] of [[HOSTILE, 'rotate'], ['alpha', 'rotate'], ['alpha', 'generate']] as const) {
      const r = await runCli(['key', 'generate', node, '--secret-out', join(dir, `${node}-${step}.sec`), '--state', state]);
      assert.equal(r.code, 0, r.stderr);
      if (step === 'rotate') assert.equal((await runCli(['key', 'rotate', node, '--state', state])).code, 0);
    }
    const [port, dashPort, http01] = [await freePort(), await freePort(), await freePort()];
    const probePort = await freePort();
    const issuer = await startIssuer(t, {
      state, port, http01Port: http01, names: Object.values(NODES),
      extraArgs: ['--dashboard', '--dashboard-listen', `127.0.0.1:${dashPort}`, '--probe-interval', '10s', '--probe-port', String(probePort)],
    });
    // --dev adds its example node; this fleet is the two nodes above.
    const removed = await runCli(['node', 'remove', 'nuc-1', '--state', state]);
    assert.equal(removed.code, 0, removed.stderr);

    const alpha = await legoRun(issuer, dir, 'alpha', NODES.alpha, eabs.alpha!, http01);
    const hostile = await legoRun(issuer, dir, HOSTILE, NODES[HOSTILE], eabs[HOSTILE]!, http01);
    const revoked = await hostile.revoke();
    assert.equal(revoked.code, 0, revoked.stderr);
    const alphaNotAfter = (await opensslText(alpha.crt)).notAfter;
    // The probes' next round finds both nodes; the port was free until now, so until then they were unreachable.
    const nodesTls = await fakeNodes(probePort, { [NODES.alpha]: alpha, [NODES[HOSTILE]]: hostile });
    t.after(() => nodesTls.close());

    const ca = await readFile(issuer.rootPath, 'utf8');
    const base = `https://localhost:${dashPort}`;
    assert.equal((await httpsGet(`${base}/api/status.json`, ca)).status, 200, 'the dashboard serves with the issuer certificate, trusted via the root');

    await mkdir(ARTIFACTS, { recursive: true });
    const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true, acceptInsecureCerts: true });
    t.after(() => browser.close());
    const watched: Watched = { problems: [] };

    const page = await openPage(browser, `${base}/`, watched);
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    // The page refreshes itself: the next probe round's verdicts appear without a reload.
    const probeText = () => page.$$eval('tr.node', (trs) => trs.map((tr) => `${tr.getAttribute('data-node')}: ${tr.children[5]?.textContent ?? ''}`).join(' | '));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const text = await probeText();
      if (/alpha: current, chain ok/.test(text) && new RegExp(`${HOSTILE}: serves revoked`).test(text)) break;
      assert.ok(Date.now() < deadline, `the probe verdicts did not appear on the page: ${text}\n${issuer.log().slice(-2000)}`);
      await sleep(500);
    }
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'refreshed in place, not reloaded');
    const rows = await page.$$eval('tr.node', (trs) => trs.map((tr) => ({ node: tr.getAttribute('data-node'), cls: tr.className, text: tr.textContent ?? '', timeLeft: tr.querySelector('.time-left')?.textContent ?? '' })));
    assert.deepEqual(rows.map((r) => r.node).sort(), ['alpha', HOSTILE].sort());
    const h = rows.find((r) => r.node === HOSTILE)!;
    const a = rows.find((r) => r.node === 'alpha')!;
    assert.equal(rows[0]!.node, HOSTILE, 'the node with a problem (revoked) comes first');
    assert.match(h.cls, /revoked/);
    assert.match(h.text, /REVOKED/);
    assert.doesNotMatch(a.text, /REVOKED/);
    assert.ok(h.text.includes(HOSTILE) && h.text.includes(NODES[HOSTILE]), 'the hostile-looking name is shown as text');
    const acceptable = [0, 60_000, 120_000].map((d) => timeLeft(alphaNotAfter.toISOString(), new Date(Date.now() - d)));
    assert.ok(acceptable.includes(a.timeLeft), `time left ${a.timeLeft}, expected one of ${acceptable.join(', ')} (lego's certificate until ${alphaNotAfter.toISOString()})`);
    assert.match(a.timeLeft, /^[67]d \d+h$/, 'a 7-day leaf just issued');
    assert.equal(await page.$$eval('svg.timeline g.lane', (g) => g.length), 2, 'one timeline lane per node');
    assert.deepEqual((await page.$$eval('svg.timeline g.lane', (g) => g.map((x) => x.getAttribute('data-node')))).sort(), ['alpha', HOSTILE].sort());
    assert.equal(await page.$$eval('svg.timeline line.now', (l) => l.length), 1);
    assert.equal(await page.evaluate(() => document.scripts.length), 1, 'only the dashboard script');
    assert.deepEqual(await axeSerious(page, axeSource), [], 'axe: no serious or critical violation on the overview');
    await page.screenshot({ path: join(ARTIFACTS, 'fleet.png'), fullPage: true });

    for (const [path, file] of [['/certificates', 'certificates.png'], ['/certificates?status=revoked', 'certificates-revoked.png'], ['/keys', 'keys.png'], ['/audit', 'audit.png']] as const) {
      const p = await openPage(browser, `${base}${path}`, watched);
      if (path === '/certificates?status=revoked') assert.equal(await p.$$eval('tr.cert-row', (r) => r.length), 1);
      if (path === '/audit') assert.match(await p.$eval('main', (m) => m.textContent ?? ''), /CRL number\s*\d+[\s\S]*chain verified/);
      assert.deepEqual(await axeSerious(p, axeSource), [], `axe: no serious or critical violation on ${path}`);
      await p.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
      await p.close();
    }
    assert.deepEqual(watched.problems, [], 'no console errors, CSP violations, failed requests or dialogs');
  });
});
