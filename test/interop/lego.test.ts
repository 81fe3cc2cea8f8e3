// lego (Debian) against a real `nixca serve` on loopback, with EAB: http-01 and tls-alpn-01
// (RFC 8737), each obtaining, renewing and revoking.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freePorts, tempDir } from '../helpers/cli.js';
import { readFile } from 'node:fs/promises';
import { addNodeWithEab, httpsGet, opensslText, opensslVerify, requireTool, run, startIssuer, type Issuer } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, HTTP01, TLSALPN, PORT2, HTTP01_2] = (await freePorts(5)) as [number, number, number, number, number];
const HTTP_NAME = 'lego-http.interop.n3x.internal';
const TLS_NAME = 'lego-tls.interop.n3x.internal';

async function cycle(issuer: Issuer, dir: string, eab: { kid: string; hmac: string }, name: string, solver: string[]) {
  // One lego path, so the second run reuses the account (an EAB credential may be single-use).
  const path = join(dir, 'lego');
  const env = { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: issuer.rootPath };
  const base = ['--server', issuer.directory, '--path', path, '--accept-tos', '--email', 'ops@n3x.internal', '--eab', '--kid', eab.kid, '--hmac', eab.hmac, '--domains', name, ...solver];
  const lego = (args: string[]) => run('lego', [...base, ...args], { env, timeoutMs: 90_000 });
  const why = (r: { code: number | null; stdout: string; stderr: string; timedOut: boolean }) =>
    `lego exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout}\n${r.stderr.slice(-4000)}\n--- issuer log (tail) ---\n${issuer.log().slice(-3000)}`;
  const crt = join(path, 'certificates', `${name}.crt`);
  const issuerCrt = join(path, 'certificates', `${name}.issuer.crt`);

  const obtain = await lego(['run']);
  assert.equal(obtain.code, 0, why(obtain));
  await opensslVerify(issuer.rootPath, crt, issuerCrt);
  const first = await opensslText(crt);
  assert.equal(first.san, `DNS:${name}`);

  // Our leaves live 7 days, so "renew when fewer than 30 days are left" always renews.
  const renew = await lego(['renew', '--days', '30', '--no-random-sleep']);
  assert.equal(renew.code, 0, why(renew));
  await opensslVerify(issuer.rootPath, crt, issuerCrt);
  const second = await opensslText(crt);
  assert.notEqual(second.serial, first.serial, 'renewal produced a new certificate');

  const revoke = await lego(['revoke', '--reason', '1', '--keep']);
  assert.equal(revoke.code, 0, why(revoke));
  const again = await lego(['revoke', '--reason', '1', '--keep']);
  assert.notEqual(again.code, 0, 'revoking twice must fail');
  assert.match(again.stdout + again.stderr, /alreadyRevoked/, why(again));
}

describe('lego (EAB) against nixca serve', { timeout: 300_000 }, () => {
  it('http-01 and tls-alpn-01: obtains, renews and revokes', async (t) => {
    await requireTool('lego');
    await requireTool('openssl', ['version']);
    const dir = await tempDir(t, 'nixca-lego-');
    const state = join(dir, 'state');
    const eab = await addNodeWithEab(state, 'lego-node', [HTTP_NAME, TLS_NAME]);
    const issuer = await startIssuer(t, { state, port: PORT, http01Port: HTTP01, tlsAlpn01Port: TLSALPN, names: [HTTP_NAME, TLS_NAME] });
    await t.test('http-01', () => cycle(issuer, dir, eab, HTTP_NAME, ['--http', '--http.port', `127.0.0.1:${HTTP01}`]));
    await t.test('tls-alpn-01', () => cycle(issuer, dir, eab, TLS_NAME, ['--tls', '--tls.port', `127.0.0.1:${TLSALPN}`]));
  });
});

describe('lego without EAB against nixca serve --eab optional (labs)', { timeout: 120_000 }, () => {
  it('obtains for a name in the inventory; a name outside it is rejectedIdentifier', async (t) => {
    await requireTool('lego');
    const dir = await tempDir(t, 'nixca-lego-noeab-');
    const state = join(dir, 'state');
    const name = 'lab.interop.n3x.internal';
    await addNodeWithEab(state, 'lab-node', [name]);
    const issuer = await startIssuer(t, { state, port: PORT2, http01Port: HTTP01_2, names: [name, 'stranger.interop.n3x.internal'], extraArgs: ['--eab', 'optional', '--no-crl'] });
    const env = { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: issuer.rootPath };
    const lego = (domain: string) => run('lego', ['--server', issuer.directory, '--path', join(dir, 'lego'), '--accept-tos', '--email', 'lab@n3x.internal', '--domains', domain, '--http', '--http.port', `127.0.0.1:${HTTP01_2}`, 'run'], { env, timeoutMs: 90_000 });
    const ok = await lego(name);
    assert.equal(ok.code, 0, `${ok.stderr.slice(-3000)}\n${issuer.log().slice(-2000)}`);
    await opensslVerify(issuer.rootPath, join(dir, 'lego', 'certificates', `${name}.crt`), join(dir, 'lego', 'certificates', `${name}.issuer.crt`));
    // --no-crl: no CRL served, so no distribution point in the leaf (RFC 5280 §4.2.1.13).
    const ext = await run('openssl', ['x509', '-in', join(dir, 'lego', 'certificates', `${name}.crt`), '-noout', '-ext', 'crlDistributionPoints'], { timeoutMs: 10_000 });
    assert.doesNotMatch(ext.stdout, /URI:/);
    assert.equal((await httpsGet(`https://localhost:${PORT2}/crl`, await readFile(issuer.rootPath, 'utf8'))).status, 404);
    const refused = await lego('stranger.interop.n3x.internal');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /rejectedIdentifier/);
  });
});
