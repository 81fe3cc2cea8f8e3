// Caddy 2.6.2 (Debian) as the ACME client of a real `nixca serve` on loopback, configured the way
// a fleet node is (acme_ca + acme_ca_root + acme_eab), then serving HTTPS that openssl verifies
// against our root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts, tempDir } from '../helpers/cli.js';
import { addNodeWithEab, killGroup, requireTool, run, startIssuer, track } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, HTTP_PORT, HTTPS_PORT] = (await freePorts(3)) as [number, number, number];
const NAME = 'caddy.interop.n3x.internal';
// Configured with the per-site block that `nixca serve --dev` prints (EAB from the environment).
const NAME2 = 'caddy-site.interop.n3x.internal';
// With http-01 disabled, so Caddy must answer tls-alpn-01 on its https_port (nodes exposing only 443).
const NAME3 = 'caddy-alpn.interop.n3x.internal';

describe('Caddy (acme_ca, acme_eab) against nixca serve', { timeout: 180_000 }, () => {
  it('obtains a certificate and serves HTTPS that openssl s_client verifies against the root', async (t) => {
    await requireTool('caddy', ['version']);
    await requireTool('openssl', ['version']);
    const dir = await tempDir(t, 'nixca-caddy-');
    const state = join(dir, 'state');
    const eab = await addNodeWithEab(state, 'caddy-node', [NAME, NAME2, NAME3]);
    const issuer = await startIssuer(t, { state, port: PORT, http01Port: HTTP_PORT, tlsAlpn01Port: HTTPS_PORT, names: [NAME, NAME2, NAME3] });

    const home = join(dir, 'caddy-home');
    await mkdir(home, { recursive: true });
    const caddyfile = join(dir, 'Caddyfile');
    await writeFile(caddyfile, `{
	admin off
	skip_install_trust
	http_port ${HTTP_PORT}
	https_port ${HTTPS_PORT}
	acme_ca ${issuer.directory}
	acme_ca_root ${issuer.rootPath}
	acme_eab {
		key_id ${eab.kid}
		mac_key ${eab.hmac}
	}
	email ops@n3x.internal
}

${NAME} {
	bind 127.0.0.1
	respond "hello from caddy on ${NAME}"
}

${NAME2} {
	bind 127.0.0.1
	tls {
		issuer acme {
			dir ${issuer.directory}
			trusted_roots ${issuer.rootPath}
			eab {$NIXCA_EAB_KEY_ID} {$NIXCA_EAB_MAC_KEY}
		}
	}
	respond "hello from caddy on ${NAME2}"
}

${NAME3} {
	bind 127.0.0.1
	tls {
		issuer acme {
			dir ${issuer.directory}
			trusted_roots ${issuer.rootPath}
			eab {$NIXCA_EAB_KEY_ID} {$NIXCA_EAB_MAC_KEY}
			disable_http_challenge
		}
	}
	respond "hello from caddy on ${NAME3}"
}
`);
    const caddy = track(spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
      // The EAB env file as systemd's EnvironmentFile= would pass it.
      env: { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), NIXCA_EAB_KEY_ID: eab.kid, NIXCA_EAB_MAC_KEY: eab.hmac },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    }));
    let caddyLog = '';
    caddy.stdout!.on('data', (d) => (caddyLog += d));
    caddy.stderr!.on('data', (d) => (caddyLog += d));
    t.after(() => killGroup(caddy));

    // Caddy obtains in the background; poll with openssl until each handshake verifies.
    const deadline = Date.now() + 90_000;
    for (const name of [NAME, NAME2, NAME3]) {
      let last: string;
      for (;;) {
        assert.equal(caddy.exitCode, null, `caddy exited:\n${caddyLog}`);
        const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${HTTPS_PORT}`, '-servername', name, '-verify_hostname', name, '-CAfile', issuer.rootPath, '-verify_return_error', '-showcerts'], { timeoutMs: 10_000, input: 'Q\n' });
        last = r.stdout + r.stderr;
        if (r.code === 0 && /Verify return code: 0 \(ok\)/.test(last)) break;
        if (Date.now() > deadline) assert.fail(`no verified TLS for ${name} from Caddy in time.\nopenssl: ${last}\ncaddy:\n${caddyLog.slice(-5000)}\nissuer:\n${issuer.log().slice(-3000)}`);
        await sleep(1000);
      }
      // The certificate Caddy serves is ours (issued by the development intermediate).
      assert.match(last, /DEVELOPMENT intermediate/);
    }
    assert.equal((caddyLog.match(/certificate obtained successfully/g) ?? []).length, 3, caddyLog);
    // The issuer's own log says how each name was proven: NAME3 can only have been tls-alpn-01.
    const validated = issuer.log().split('\n').filter((l) => l.includes('"challenge validated"')).map((l) => JSON.parse(l) as { type: string; identifier: string; valid: boolean });
    assert.ok(validated.some((v) => v.identifier === NAME3 && v.type === 'tls-alpn-01' && v.valid), issuer.log().slice(-3000));
    assert.ok(!validated.some((v) => v.identifier === NAME3 && v.type === 'http-01'));
  });
});
