// `nixca operator cert` against a real `nixca serve --dashboard --dashboard-require-client-cert`
// (the non-loopback rule, forced on 127.0.0.1 because tests never leave loopback): the files and
// their modes, curl-like access with and without the certificate, an ACME-profile leaf refused,
// and both the issuance and the view in the audit log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { startIssuer } from '../interop/helpers.js';
import { readAudit } from '../../src/audit/log.js';
import { loadIssuer } from '../../src/ceremony/issuer-dir.js';
import { issueLeaf } from '../../src/ca/leaf.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../src/ca/keys.js';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

function get(url: string, ca: string, client?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, ...client, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('nixca operator cert with serve --dashboard-require-client-cert', { timeout: 120_000 }, () => {
  it('only operator certificates open the dashboard, and who looked is audited', async (t) => {
    const dir = await tempDir(t, 'nixca-operator-');
    const state = join(dir, 'state');
    const [port, dashPort] = [await freePort(), await freePort()];
    const issuer = await startIssuer(t, { state, port, names: [], extraArgs: ['--dashboard', '--dashboard-listen', `127.0.0.1:${dashPort}`, '--dashboard-require-client-cert'] });
    const passphraseFile = join(state, 'dev-intermediate.passphrase');
    const out = join(dir, 'op');

    const bad = await runCli(['operator', 'cert', 'alice.ops', '--out', out, '--state', state, '--passphrase-file', passphraseFile]);
    assert.equal(bad.code, 2, bad.stderr);
    const tooLong = await runCli(['operator', 'cert', 'alice', '--out', out, '--validity', '8d', '--state', state, '--passphrase-file', passphraseFile]);
    assert.equal(tooLong.code, 2, tooLong.stderr);
    const made = await runCli(['operator', 'cert', 'alice', '--out', out, '--validity', '2h', '--state', state, '--passphrase-file', passphraseFile, '--json']);
    assert.equal(made.code, 0, made.stderr);
    const info = JSON.parse(made.stdout) as { serial: string; key: string; certificate: string; notAfter: string };
    assert.equal((await stat(info.key)).mode & 0o777, 0o600);
    const again = await runCli(['operator', 'cert', 'alice', '--out', out, '--state', state, '--passphrase-file', passphraseFile]);
    assert.notEqual(again.code, 0, 'existing files are never overwritten');

    const ca = await readFile(issuer.rootPath, 'utf8');
    const url = `https://localhost:${dashPort}/`;
    const alice = { cert: await readFile(info.certificate, 'utf8'), key: await readFile(info.key, 'utf8') };
    await assert.rejects(get(url, ca), 'no client certificate: refused during TLS');
    // A leaf of the ACME profile (serverAuth + clientAuth) from the same intermediate.
    const loaded = await loadIssuer(state, async () => (await readFile(passphraseFile, 'utf8')).trim());
    const keys = await generateKeyPair('ECDSA-P256');
    const leaf = await issueLeaf(loaded, { publicKey: keys.publicKey, dnsNames: ['cache.nuc-1.n3x.internal'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
    await assert.rejects(get(url, ca, { cert: leaf.toString('pem') + '\n' + loaded.intermediatePem, key: await exportPrivateKeyPem(keys.privateKey) }), /ECONNRESET|socket hang up|EPIPE/);

    const ok = await get(url, ca, alice);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /signed in as <strong>alice<\/strong>/);
    const json = await get(`https://localhost:${dashPort}/api/status.json`, ca, alice);
    assert.equal(json.status, 200);
    assert.ok(Array.isArray(JSON.parse(json.body).nodes));

    const records = (await readAudit(state)).records;
    const issued = records.filter((r) => r.type === 'operator.certificate-issued');
    assert.deepEqual(issued.map((r) => [r.subject, r.details.serial]), [['alice', info.serial]]);
    const viewed = records.filter((r) => r.type === 'dashboard.viewed');
    assert.equal(viewed.length, 1);
    assert.equal(viewed[0]!.subject, 'alice');
    assert.equal(viewed[0]!.details.serial, info.serial);
  });
});
