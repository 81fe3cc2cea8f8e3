// The served CRL with real tools: lego (Debian) obtains and renews from a real `nixca serve`, then
// revokes the newer certificate through ACME; the CRL fetched over HTTPS from the issuer makes
// `openssl verify -crl_check` reject the revoked leaf and accept the other. A revocation made with
// `nixca cert revoke` while serve is stopped is in the CRL served after the restart. On the same
// process: renewalInfo (certIDs from openssl's output) agrees with `nixca status`, /health,
// /metrics and the audit log. (No installed client speaks ARI: lego 4.9.1, certbot 2.1.0.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { runCli, freePorts, tempDir } from '../helpers/cli.js';
import { addNodeWithEab, opensslText, requireTool, run, startIssuer } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, HTTP01] = (await freePorts(2)) as [number, number];
const NAME = 'crl.interop.n3x.internal';

/** GET over HTTPS trusting only `ca`, as bytes (a DER CRL is not text). */
function getBytes(url: string, ca: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('served CRL with lego and openssl', { timeout: 180_000 }, () => {
  it('openssl verify -crl_check rejects the revoked leaf and accepts the good one; CLI revocations appear after a restart', async (t) => {
    await requireTool('lego');
    await requireTool('openssl', ['version']);
    const dir = await tempDir(t, 'nixca-crl-');
    const state = join(dir, 'state');
    const eab = await addNodeWithEab(state, 'crl-node', [NAME]);
    let issuer = await startIssuer(t, { state, port: PORT, http01Port: HTTP01, names: [NAME] });
    const ca = await readFile(issuer.rootPath, 'utf8');
    const path = join(dir, 'lego');
    const env = { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: issuer.rootPath };
    const lego = (args: string[]) =>
      run('lego', ['--server', issuer.directory, '--path', path, '--accept-tos', '--email', 'ops@n3x.internal', '--eab', '--kid', eab.kid, '--hmac', eab.hmac, '--domains', NAME, '--http', '--http.port', `127.0.0.1:${HTTP01}`, ...args], { env, timeoutMs: 90_000 });
    const why = (r: { code: number | null; stdout: string; stderr: string }) => `lego exit ${r.code}\n${r.stderr.slice(-3000)}\n--- issuer ---\n${issuer.log().slice(-2000)}`;
    const crt = join(path, 'certificates', `${NAME}.crt`);
    const intermediate = join(path, 'certificates', `${NAME}.issuer.crt`);
    const goodPath = join(dir, 'good.pem');
    const revokedPath = join(dir, 'revoked.pem');

    const t0 = Date.now();
    const obtain = await lego(['run']);
    assert.equal(obtain.code, 0, why(obtain));
    // serve waits up to 1 s (--challenge-wait) for the validation, so lego sees `valid` in the
    // challenge response and never sleeps its 5 s poll interval (measured: docs/serving.md).
    assert.ok(Date.now() - t0 < 4000, `lego run took ${Date.now() - t0} ms`);
    // lego writes the leaf followed by the chain; openssl verify reads the first certificate.
    await copyFile(crt, goodPath);
    const renew = await lego(['renew', '--days', '30', '--no-random-sleep']);
    assert.equal(renew.code, 0, why(renew));
    await copyFile(crt, revokedPath);
    const revoke = await lego(['revoke', '--reason', '1', '--keep']);
    assert.equal(revoke.code, 0, why(revoke));
    const good = await opensslText(goodPath);
    const revoked = await opensslText(revokedPath);
    assert.notEqual(good.serial, revoked.serial);

    // Leaves carry the distribution point where the issuer serves the CRL.
    const cdp = await run('openssl', ['x509', '-in', goodPath, '-noout', '-ext', 'crlDistributionPoints'], { timeoutMs: 10_000 });
    assert.match(cdp.stdout, new RegExp(`URI:https://localhost:${PORT}/crl`), cdp.stdout + cdp.stderr);

    const fetchCrlPem = async (name: string) => {
      const res = await getBytes(`https://localhost:${PORT}/crl`, ca);
      assert.equal(res.status, 200);
      assert.equal(res.type, 'application/pkix-crl');
      await writeFile(join(dir, `${name}.der`), res.body);
      const conv = await run('openssl', ['crl', '-inform', 'DER', '-in', join(dir, `${name}.der`), '-out', join(dir, `${name}.pem`)], { timeoutMs: 10_000 });
      assert.equal(conv.code, 0, conv.stderr);
      const text = await run('openssl', ['crl', '-in', join(dir, `${name}.pem`), '-noout', '-text'], { timeoutMs: 10_000 });
      return { path: join(dir, `${name}.pem`), text: text.stdout, number: Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text.stdout)?.[1]) };
    };
    const verify = (leaf: string, crl: string) =>
      run('openssl', ['verify', '-crl_check', '-CRLfile', crl, '-CAfile', issuer.rootPath, '-untrusted', intermediate, leaf], { timeoutMs: 10_000 });

    const crl1 = await fetchCrlPem('crl1');
    assert.match(crl1.text, /Key Compromise/);
    const bad = await verify(revokedPath, crl1.path);
    assert.notEqual(bad.code, 0, bad.stdout);
    assert.match(bad.stdout + bad.stderr, /certificate revoked/);
    const ok = await verify(goodPath, crl1.path);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);

    // The same process: /health and /metrics over HTTPS, and the audit log its hooks wrote.
    const health = await getBytes(`https://localhost:${PORT}/health`, ca);
    assert.equal(health.status, 200, health.body.toString());
    const report = JSON.parse(health.body.toString()) as { status: string; checks: { store: { ok: boolean }; intermediate: { daysUntilExpiry: number }; crl: { crlNumber: number } } };
    assert.equal(report.status, 'ok');
    assert.ok(report.checks.intermediate.daysUntilExpiry > 30, JSON.stringify(report));
    assert.equal(report.checks.crl.crlNumber, crl1.number);
    const metrics = (await getBytes(`https://localhost:${PORT}/metrics`, ca)).body.toString();
    assert.match(metrics, /^nixca_acme_certificates_issued_total 2$/m);
    assert.match(metrics, /^nixca_acme_certificates_revoked_total\{reason="keyCompromise"\} 1$/m);
    assert.match(metrics, /^nixca_node_certificate_expiry_timestamp_seconds\{node="crl-node"\} \d+$/m);
    assert.match(metrics, /^nixca_process_resident_memory_bytes \d+/m);
    const audit = await runCli(['audit', 'show', '--type', 'certificate', '--json', '--state', state]);
    assert.equal(audit.code, 0, audit.stderr);
    const types = (JSON.parse(audit.stdout) as Array<{ type: string }> | { entries: Array<{ type: string }> });
    const list = Array.isArray(types) ? types : types.entries;
    assert.deepEqual(list.map((e) => e.type), ['certificate.issued', 'certificate.issued', 'certificate.revoked']);

    // ARI on the real process, with certIDs built from what openssl prints (RFC 9773 §4.1), and
    // the same windows `nixca status` reports (status reads the store read-only while serve runs).
    const certIdOf = async (pem: string) => {
      const r = await run('openssl', ['x509', '-in', pem, '-noout', '-ext', 'authorityKeyIdentifier', '-serial'], { timeoutMs: 10_000 });
      const aki = Buffer.from(/Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(r.stdout)![1]!.replace(/:/g, ''), 'hex');
      let serial = Buffer.from(/serial=([0-9A-F]+)/.exec(r.stdout)![1]!, 'hex');
      if (serial[0]! >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
      return `${aki.toString('base64url')}.${serial.toString('base64url')}`;
    };
    const ari = async (pem: string) => {
      const res = await getBytes(`https://localhost:${PORT}/renewal-info/${await certIdOf(pem)}`, ca);
      assert.equal(res.status, 200, res.body.toString());
      return (JSON.parse(res.body.toString()) as { suggestedWindow: { start: string; end: string } }).suggestedWindow;
    };
    const goodWindow = await ari(goodPath);
    const life = good.notAfter.getTime() - Date.now();
    assert.ok(Date.parse(goodWindow.start) > Date.now() + life / 2 && Date.parse(goodWindow.end) < good.notAfter.getTime(), JSON.stringify(goodWindow));
    const revokedWindow = await ari(revokedPath);
    const status = await runCli(['status', '--json', '--state', state]);
    const view = (JSON.parse(status.stdout) as { nodes: Array<{ name: string; certificate: { serial: string; renewalWindow: { start: string; end: string; reason: string } } }> }).nodes.find((n) => n.name === 'crl-node')!;
    assert.equal(view.certificate.serial, revoked.serial, 'status shows the newest certificate');
    assert.equal(view.certificate.renewalWindow.reason, 'revoked');
    assert.equal(Date.parse(view.certificate.renewalWindow.start), Date.parse(revokedWindow.start), 'status and renewalInfo agree');
    assert.equal(Date.parse(view.certificate.renewalWindow.end), Date.parse(revokedWindow.end));

    // Stopped: the operator revokes the other one from the CLI; the restarted issuer serves it.
    assert.equal(await issuer.stop('SIGTERM'), 0);
    const cli = await runCli(['cert', 'revoke', good.serial, '--reason', 'superseded', '--state', state]);
    assert.equal(cli.code, 0, cli.stderr);
    issuer = await startIssuer(t, { state, port: PORT, http01Port: HTTP01, names: [NAME] });
    const crl2 = await fetchCrlPem('crl2');
    assert.ok(crl2.number > crl1.number, `CRL number ${crl2.number} after ${crl1.number}`);
    const now = await verify(goodPath, crl2.path);
    assert.notEqual(now.code, 0);
    assert.match(now.stdout + now.stderr, /certificate revoked/);
    assert.equal(await issuer.stop('SIGTERM'), 0);
    // The serve start certified the audit key with the intermediate: the log verifies to the root.
    const verified = await runCli(['audit', 'verify', '--state', state]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });
});
