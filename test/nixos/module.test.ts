// nix-module/nixca.nix (the issuer service), evaluated by real nix 2.8 against the harness.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../helpers/cli.js';
import { NIX_MODULE, harnessExpr, nixEval, nixInstantiate, sandboxEnv } from './tools.js';

interface Evaluated {
  failed: string[];
  svc: { serviceConfig: Record<string, unknown>; environment: Record<string, string>; wantedBy: string[] } | null;
  users: Record<string, unknown>;
  fw: number[];
}

const BASE = { enable: true, baseUrl: 'https://acme.n3x.internal:8443/', intermediateKeyPassphraseFile: '/run/agenix/nixca-intermediate' };

async function evalIssuer(env: NodeJS.ProcessEnv, nixca: Record<string, unknown>): Promise<Evaluated> {
  return (await nixEval(env, harnessExpr({ modules: [NIX_MODULE], config: { services: { nixca } } }, 'h: { failed = h.failedAssertions; svc = h.config.systemd.services.nixca or null; users = h.config.users.users; fw = h.config.networking.firewall.allowedTCPPorts; }'))) as Evaluated;
}

/** ExecStart as systemd splits it (utils.escapeSystemdExecArgs JSON-quotes every argument). */
function argv(execStart: unknown): string[] {
  return [...String(execStart).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
}

test('nix-instantiate --parse accepts nix-module/nixca.nix', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const r = await nixInstantiate(['--parse', NIX_MODULE], env);
  assert.equal(r.code, 0, r.stderr);
});

test('the issuer service: hardened, secrets only through LoadCredential, flags nixca serve knows', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const v = await evalIssuer(env, { ...BASE, settings: { 'leaf-lifetime': '7d', resolve: ['cache.nuc-1.n3x.internal=10.0.0.5'], 'log-level': 'info' } });
  assert.deepEqual(v.failed, []);
  const sc = v.svc!.serviceConfig;
  assert.deepEqual(sc.LoadCredential, ['nixca-intermediate-passphrase:/run/agenix/nixca-intermediate']);
  const expected: Record<string, unknown> = {
    User: 'nixca',
    Group: 'nixca',
    StateDirectory: 'nixca',
    StateDirectoryMode: '0700',
    UMask: '0077',
    ProtectSystem: 'strict',
    ProtectHome: true,
    PrivateTmp: true,
    PrivateDevices: true,
    NoNewPrivileges: true,
    RestrictAddressFamilies: ['AF_INET', 'AF_INET6', 'AF_UNIX'],
    SystemCallFilter: ['@system-service', '~@privileged'],
    SystemCallArchitectures: 'native',
    CapabilityBoundingSet: [''],
    AmbientCapabilities: [],
    PrivateUsers: true,
    RestrictNamespaces: true,
    RestrictSUIDSGID: true,
    ProtectKernelTunables: true,
    ProtectKernelModules: true,
    ProtectControlGroups: true,
    LockPersonality: true,
  };
  for (const [k, val] of Object.entries(expected)) assert.deepEqual(sc[k], val, k);
  const args = argv(sc.ExecStart);
  assert.deepEqual(args.slice(0, 10), [
    '/nix/store/00000000000000000000000000000000-nixca-0.1.0/bin/nixca', 'serve',
    '--state', '/var/lib/nixca', '--listen', '0.0.0.0:8443', '--base-url', 'https://acme.n3x.internal:8443/', '--eab', 'required',
  ]);
  assert.deepEqual(args.slice(10), ['--leaf-lifetime', '7d', '--log-level', 'info', '--resolve', 'cache.nuc-1.n3x.internal=10.0.0.5']);
  // The passphrase path is not on the command line or in the environment: only in LoadCredential.
  assert.ok(!String(sc.ExecStart).includes('nixca-intermediate'));
  assert.ok(!JSON.stringify(v.svc!.environment).includes('nixca-intermediate'));
  // Peak RSS is mostly V8's young generation (docs/performance.md): the flag must be there at start.
  assert.equal(v.svc!.environment.NODE_OPTIONS, '--max-semi-space-size=4');
  assert.deepEqual(v.svc!.wantedBy, ['multi-user.target']);
  assert.deepEqual(Object.keys(v.users), ['nixca']);

  // Every flag the module passes is one `nixca serve` accepts (cli/serve.ts is another area's code).
  const help = await runCli(['serve', '--help']);
  assert.equal(help.code, 0);
  for (const flag of args.filter((a) => a.startsWith('--'))) assert.ok(help.stdout.includes(flag), `nixca serve has no ${flag}`);
  assert.match(help.stdout, /CREDENTIALS_DIRECTORY\/nixca-intermediate-passphrase/);
});

test('a secret inside the Nix store, or as a path literal, fails an assertion that says why', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const store = await evalIssuer(env, { ...BASE, intermediateKeyPassphraseFile: '/nix/store/0000-passphrase' });
  assert.equal(store.failed.length, 1);
  assert.match(store.failed[0]!, /nixca-intermediate-passphrase.*Nix store, which every user of the machine can read/);

  // A path literal would be copied into the store when interpolated; the module never interpolates
  // it (LoadCredential keeps the original path string) and the assertion refuses it.
  const secret = join(dir, 'passphrase');
  const literal = await evalIssuer(env, { ...BASE, intermediateKeyPassphraseFile: `<path-literal>${secret}` });
  assert.equal(literal.failed.length, 1);
  assert.match(literal.failed[0]!, /never a Nix path literal/);
  assert.deepEqual(literal.svc!.serviceConfig.LoadCredential, [`nixca-intermediate-passphrase:${secret}`]);

  const extra = await evalIssuer(env, { ...BASE, credentials: { 'tls-key': '/nix/store/1111-key', other: '/run/secrets/other' } });
  assert.equal(extra.failed.length, 1);
  assert.match(extra.failed[0]!, /`tls-key`/);
  assert.deepEqual(extra.svc!.serviceConfig.LoadCredential, ['nixca-intermediate-passphrase:/run/agenix/nixca-intermediate', 'other:/run/secrets/other', 'tls-key:/nix/store/1111-key']);
});

test('CAP_NET_BIND_SERVICE only below port 1024; firewall only when asked', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const low = await evalIssuer(env, { ...BASE, listen: '[::]:443', openFirewall: true });
  assert.deepEqual(low.failed, []);
  assert.deepEqual(low.svc!.serviceConfig.CapabilityBoundingSet, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(low.svc!.serviceConfig.AmbientCapabilities, ['CAP_NET_BIND_SERVICE']);
  assert.equal(low.svc!.serviceConfig.PrivateUsers, false);
  assert.deepEqual(low.fw, [443]);
  const high = await evalIssuer(env, BASE);
  assert.deepEqual(high.fw, []);
});

test('misuse is refused by assertions; systemd specifiers in settings are escaped; disabled = nothing', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const bad = await evalIssuer(env, { ...BASE, stateDir: '/srv/nixca', baseUrl: 'http://acme/', listen: 'acme', settings: { 'passphrase-file': '/tmp/p' } });
  assert.equal(bad.failed.length, 4);
  assert.match(bad.failed.join('\n'), /stateDir must be under \/var\/lib/);
  assert.match(bad.failed.join('\n'), /baseUrl must be an https/);
  assert.match(bad.failed.join('\n'), /listen must be host:port/);
  assert.match(bad.failed.join('\n'), /settings must not set .*passphrase-file/);

  const esc = await evalIssuer(env, { ...BASE, settings: { resolve: ['a.n3x.internal=10.0.0.1'], 'log-level': '%h$HOME' } });
  assert.match(String(esc.svc!.serviceConfig.ExecStart), /"--log-level" "%%h\$\$HOME"/);

  const off = await evalIssuer(env, { enable: false });
  assert.equal(off.svc, null);
  assert.deepEqual(off.users, {});
  assert.deepEqual(off.failed, []);
});
