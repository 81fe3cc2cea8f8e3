// certbot 2.1.0 (Debian) against a real `nixca serve` on loopback: standalone http-01 with EAB,
// obtain, forced renewal, revocation by certificate key and by account key (and a second
// revocation refused as alreadyRevoked).
// certbot crashes while *reporting* ACME errors on Python 3.11 (see bench README), so failures
// are diagnosed from its logs/letsencrypt.log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePorts, tempDir } from '../helpers/cli.js';
import { addNodeWithEab, opensslText, opensslVerify, requireTool, run, startIssuer } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, HTTP01] = (await freePorts(2)) as [number, number];
const NAME = 'certbot.interop.n3x.internal';

describe('certbot (standalone http-01, EAB) against nixca serve', { timeout: 240_000 }, () => {
  it('obtains, renews and revokes', async (t) => {
    await requireTool('certbot');
    await requireTool('openssl', ['version']);
    const dir = await tempDir(t, 'nixca-certbot-');
    const state = join(dir, 'state');
    const eab = await addNodeWithEab(state, 'certbot-node', [NAME]);
    const issuer = await startIssuer(t, { state, port: PORT, http01Port: HTTP01, names: [NAME] });
    const cb = join(dir, 'certbot');
    const common = ['--non-interactive', '--config-dir', join(cb, 'config'), '--work-dir', join(cb, 'work'), '--logs-dir', join(cb, 'logs'), '--server', issuer.directory];
    const env = { PATH: process.env.PATH, HOME: dir, REQUESTS_CA_BUNDLE: issuer.rootPath };
    const certbot = async (args: string[]) => {
      const r = await run('certbot', [...args, ...common], { env, timeoutMs: 90_000 });
      const log = await readFile(join(cb, 'logs', 'letsencrypt.log'), 'utf8').catch(() => '');
      return { ...r, log };
    };
    const why = (r: { code: number | null; stderr: string; log: string; timedOut: boolean }) =>
      `certbot exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}\n--- letsencrypt.log (tail) ---\n${r.log.slice(-4000)}\n--- issuer log (tail) ---\n${issuer.log().slice(-3000)}`;

    const obtain = await certbot(['certonly', '--standalone', '--preferred-challenges', 'http', '--http-01-port', String(HTTP01), '--http-01-address', '127.0.0.1',
      '--agree-tos', '--register-unsafely-without-email', '--eab-kid', eab.kid, '--eab-hmac-key', eab.hmac, '-d', NAME, '--cert-name', 'interop']);
    assert.equal(obtain.code, 0, why(obtain));
    const live = join(cb, 'config', 'live', 'interop');
    await opensslVerify(issuer.rootPath, join(live, 'cert.pem'), join(live, 'chain.pem'));
    const first = await opensslText(join(live, 'cert.pem'));
    assert.equal(first.san, `DNS:${NAME}`);
    const days = (first.notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7.01, `leaf lifetime ${days} days (default 7)`);

    const renew = await certbot(['renew', '--force-renewal', '--no-random-sleep-on-renew', '--cert-name', 'interop']);
    assert.equal(renew.code, 0, why(renew));
    await opensslVerify(issuer.rootPath, join(live, 'cert.pem'), join(live, 'chain.pem'));
    const second = await opensslText(join(live, 'cert.pem'));
    assert.notEqual(second.serial, first.serial, 'renewal produced a new certificate');

    // The first certificate, revoked with its own key (certbot then signs with a jwk, not the account: §7.6).
    const archive = join(cb, 'config', 'archive', 'interop');
    const byKey = await certbot(['revoke', '--cert-path', join(archive, 'cert1.pem'), '--key-path', join(archive, 'privkey1.pem'), '--reason', 'superseded', '--no-delete-after-revoke']);
    assert.equal(byKey.code, 0, why(byKey));
    const revoked = () => issuer.log().split('\n').filter((l) => l.includes('"certificate revoked"')).map((l) => JSON.parse(l) as { serial: string; reason: string; by: string });
    assert.deepEqual(revoked().map((r) => [r.serial, r.by]), [[first.serial, 'certificate-key']], issuer.log().slice(-2000));

    const revoke = await certbot(['revoke', '--cert-path', join(live, 'cert.pem'), '--reason', 'keycompromise', '--no-delete-after-revoke']);
    assert.equal(revoke.code, 0, why(revoke));
    assert.deepEqual(revoked().map((r) => [r.serial, r.reason, r.by.split(':')[0]]), [[first.serial, 'superseded', 'certificate-key'], [second.serial, 'keyCompromise', 'account']]);
    // A second revocation must be refused by the server with alreadyRevoked (RFC 8555 §7.6).
    const again = await certbot(['revoke', '--cert-path', join(live, 'cert.pem'), '--reason', 'keycompromise', '--no-delete-after-revoke']);
    assert.notEqual(again.code, 0, 'revoking twice must fail');
    assert.match(again.log, /alreadyRevoked/, why(again));
  });
});
