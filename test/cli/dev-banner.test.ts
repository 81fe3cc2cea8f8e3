// The pieces of `serve --dev`'s banner and log that need no server: the Caddy global options for
// given ports (caddy itself checks them in test/interop/serve.test.ts) and the log format choice.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { caddyGlobalOptions, privilegedPortNote } from '../../cli/dev-caddy.js';
import { prettyLine, wantsPretty } from '../../cli/log.js';
import { runCli, tempDir } from '../helpers/cli.js';

test('the Caddy global options carry the directory, the root and the ports the issuer validates', () => {
  const o = { directory: 'https://127.0.0.1:18443/directory', rootPath: '/tmp/s/issuer/root.pem', httpPort: 18080, httpsPort: 18444 };
  assert.equal(
    caddyGlobalOptions(o),
    '{\n\tacme_ca https://127.0.0.1:18443/directory\n\tacme_ca_root /tmp/s/issuer/root.pem\n\tacme_eab {\n\t\tkey_id {$NIXCA_EAB_KEY_ID}\n\t\tmac_key {$NIXCA_EAB_MAC_KEY}\n\t}\n\thttp_port 18080\n\thttps_port 18444\n\tadmin localhost:2019\n}',
  );
  assert.match(caddyGlobalOptions({ ...o, adminAddress: 'localhost:12019' }), /\tadmin localhost:12019\n/);
  assert.equal(privilegedPortNote(o), null);
  assert.match(privilegedPortNote({ httpPort: 80, httpsPort: 443 })!, /^ports 80, 443 need root .*--http01-port 8080 --tls-alpn01-port 8444/);
  assert.match(privilegedPortNote({ httpPort: 8080, httpsPort: 443 })!, /^port 443 needs root/);
});

test('log format: pretty on a terminal or when asked, JSON otherwise', () => {
  assert.equal(wantsPretty('auto', true), true);
  assert.equal(wantsPretty('auto', false), false);
  assert.equal(wantsPretty('json', true), false);
  assert.equal(wantsPretty('pretty', false), true);
  const rec = JSON.stringify({ level: 30, time: Date.parse('2026-01-01T12:00:01Z'), pid: 1, hostname: 'h', msg: 'listening on 127.0.0.1:8443, directory https://localhost:8443/directory', eab: 'required', resolve: { a: '1' } });
  assert.equal(prettyLine(rec), '12:00:01 INFO  listening on 127.0.0.1:8443, directory https://localhost:8443/directory eab=required resolve={"a":"1"}');
  assert.equal(prettyLine('not json'), 'not json');
});

test('serve --dev refuses a --base-url outside the development PKI before it creates or prints anything', async (t) => {
  const state = join(await tempDir(t), 'dev');
  const r = await runCli(['serve', '--dev', '--state', state, '--listen', '127.0.0.1:8443', '--base-url', 'https://www.example.com:8443']);
  assert.equal(r.code, 8, r.stderr);
  assert.equal(r.stdout, '', 'no banner for a server that will not start');
  assert.equal(r.stderr.trim(), "nixca: the base URL host www.example.com is outside the development PKI's permitted DNS names (n3x.internal, localhost); choose a --base-url under them");
  assert.equal(existsSync(state), false, 'no state directory created');
  const ip = await runCli(['serve', '--dev', '--state', state, '--listen', '127.0.0.1:8443', '--base-url', 'https://127.0.0.1:8443']);
  assert.equal(ip.code, 2, ip.stderr);
  assert.match(ip.stderr, /--base-url host 127\.0\.0\.1 must be a DNS name/);
  assert.equal(existsSync(state), false);
});
