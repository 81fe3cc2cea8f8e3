// nix-module/nixca.nix (the issuer service), evaluated by real nix 2.8 against the harness.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../helpers/cli.js';
import { HARNESS_DIR, NIX_MODULE, harnessExpr, nixEval, nixEvalError, nixInstantiate, run, sandboxEnv } from './tools.js';

interface Evaluated {
  failed: string[];
  warnings: string[];
  svc: { serviceConfig: Record<string, unknown>; environment: Record<string, string>; wantedBy: string[]; restartTriggers: string[] } | null;
  users: Record<string, unknown>;
  fw: number[];
  bin: { name: string; text: string }[];
}

const BASE = { enable: true, baseUrl: 'https://acme.n3x.internal:8443/', intermediateKeyPassphraseFile: '/run/agenix/nixca-intermediate' };

async function evalIssuer(env: NodeJS.ProcessEnv, nixca: Record<string, unknown>, modules: string[] = [NIX_MODULE], storeRoot?: string): Promise<Evaluated> {
  return (await nixEval(env, harnessExpr({ modules, config: { services: { nixca } } }, 'h: { failed = h.failedAssertions; inherit (h) warnings; svc = h.config.systemd.services.nixca or null; users = h.config.users.users; fw = h.config.networking.firewall.allowedTCPPorts; bin = map (p: { inherit (p) name; text = p.text or ""; }) h.config.environment.systemPackages; }'), storeRoot ? { storeRoot } : {})) as Evaluated;
}

// nixpkgs' harmonia module (nixos/modules/services/networking/harmonia.nix): the issuer's unit must
// be at least this hardened (MemoryDenyWriteExecute aside: V8's JIT needs W+X memory).
const HARMONIA_HARDENING: Record<string, unknown> = {
  CapabilityBoundingSet: [''],
  DeviceAllow: [''],
  LimitNOFILE: 65536,
  LockPersonality: true,
  NoNewPrivileges: true,
  PrivateDevices: true,
  PrivateMounts: true,
  PrivateTmp: true,
  PrivateUsers: true,
  ProcSubset: 'pid',
  ProtectClock: true,
  ProtectControlGroups: true,
  ProtectHome: true,
  ProtectHostname: true,
  ProtectKernelLogs: true,
  ProtectKernelModules: true,
  ProtectKernelTunables: true,
  ProtectProc: 'invisible',
  ProtectSystem: 'strict',
  RestrictNamespaces: true,
  RestrictRealtime: true,
  SystemCallArchitectures: 'native',
  SystemCallFilter: ['@system-service', '~@privileged', '~@resources'],
};

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
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const v = await evalIssuer(env, { ...BASE, settings: { leafLifetime: '7d', resolve: ['cache.nuc-1.n3x.internal=10.0.0.5'], logLevel: 'info', challengeWait: null } }, [NIX_MODULE], join(dir, 'store'));
  assert.deepEqual(v.failed, []);
  const sc = v.svc!.serviceConfig;
  assert.deepEqual(sc.LoadCredential, ['nixca-intermediate-passphrase:/run/agenix/nixca-intermediate']);
  const expected: Record<string, unknown> = {
    User: 'nixca',
    Group: 'nixca',
    StateDirectory: 'nixca',
    StateDirectoryMode: '0700',
    RuntimeDirectory: 'nixca',
    RuntimeDirectoryMode: '0700',
    UMask: '0077',
    ProtectSystem: 'strict',
    ProtectHome: true,
    PrivateTmp: true,
    PrivateDevices: true,
    NoNewPrivileges: true,
    RestrictAddressFamilies: ['AF_INET', 'AF_INET6', 'AF_UNIX'],
    SystemCallFilter: ['@system-service', '~@privileged', '~@resources'],
    Type: 'notify',
    NotifyAccess: 'all',
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
  for (const [k, val] of Object.entries({ ...HARMONIA_HARDENING, ...expected })) assert.deepEqual(sc[k], val, k);
  assert.deepEqual(v.warnings, []);
  const args = argv(sc.ExecStart);
  const configFile = args[13]!;
  assert.deepEqual(v.svc!.restartTriggers, ['/nix/store/00000000000000000000000000000000-nixca-0.1.0', configFile]);
  assert.deepEqual(args.slice(0, 10), [
    '/nix/store/00000000000000000000000000000000-nixca-0.1.0/bin/nixca', 'serve',
    '--state', '/var/lib/nixca', '--listen', '0.0.0.0:8443', '--base-url', 'https://acme.n3x.internal:8443/', '--eab', 'required',
  ]);
  // The admin socket in the unit's RuntimeDirectory; the operator's nixca is given the same path.
  assert.deepEqual(args.slice(10, 12), ['--admin-socket', '/run/nixca/admin.sock']);
  // settings become the --config file (null leaves a key out), which the real CLI accepts as written.
  assert.deepEqual(args.slice(12), ['--config', configFile]);
  assert.match(configFile, /^\/nix\/store\/[0-9a-z]{32}-nixca-serve\.json$/);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'store', configFile), 'utf8')), { leafLifetime: '7d', logLevel: 'info', resolve: ['cache.nuc-1.n3x.internal=10.0.0.5'] });
  const effective = await runCli(['serve', '--config', join(dir, 'store', configFile), '--print-config']);
  assert.equal(effective.code, 0, effective.stderr);
  const printed = JSON.parse(effective.stdout) as Record<string, unknown>;
  assert.equal(printed.leafLifetime, '7d');
  assert.equal(printed.logLevel, 'info');
  assert.deepEqual(printed.resolve, ['cache.nuc-1.n3x.internal=10.0.0.5']);
  // The passphrase path is not on the command line or in the environment: only in LoadCredential.
  assert.ok(!String(sc.ExecStart).includes('nixca-intermediate'));
  assert.ok(!JSON.stringify(v.svc!.environment).includes('nixca-intermediate'));
  // Peak RSS is mostly V8's young generation and its workers' memory (docs/performance.md): the
  // flags must be there at start.
  assert.equal(v.svc!.environment.NODE_OPTIONS, '--max-semi-space-size=4 --v8-pool-size=1');
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
  const low = await evalIssuer(env, { ...BASE, listenAddress: '::', port: 443, openFirewall: true });
  assert.ok(argv(low.svc!.serviceConfig.ExecStart).join(' ').includes('--listen [::]:443'));
  assert.deepEqual(low.failed, []);
  assert.deepEqual(low.svc!.serviceConfig.CapabilityBoundingSet, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(low.svc!.serviceConfig.AmbientCapabilities, ['CAP_NET_BIND_SERVICE']);
  assert.equal(low.svc!.serviceConfig.PrivateUsers, false);
  assert.deepEqual(low.fw, [443]);
  const high = await evalIssuer(env, BASE);
  assert.deepEqual(high.fw, []);
});

test('misuse is refused by assertions; systemd specifiers in extraFlags are escaped; disabled = nothing', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const bad = await evalIssuer(env, { ...BASE, stateDir: '/srv/nixca', baseUrl: 'http://acme/', listenAddress: '[::1]', settings: { passphraseFile: '/tmp/p' } });
  assert.equal(bad.failed.length, 4);
  assert.match(bad.failed.join('\n'), /stateDir must be under \/var\/lib/);
  assert.match(bad.failed.join('\n'), /baseUrl must be an https/);
  assert.match(bad.failed.join('\n'), /listenAddress is an address without brackets/);
  assert.match(bad.failed.join('\n'), /settings must not set .*passphraseFile/);
  const sock = await evalIssuer(env, { ...BASE, adminSocket: '/tmp/admin.sock', settings: { adminSocket: '/run/nixca/a.sock' } });
  assert.equal(sock.failed.length, 2);
  assert.match(sock.failed.join('\n'), /adminSocket must be under \/run\/nixca\/ \(RuntimeDirectory\) or \/var\/lib\/nixca\//);
  assert.match(sock.failed.join('\n'), /settings must not set .*adminSocket/);

  const esc = await evalIssuer(env, { ...BASE, extraFlags: ['--log-level', '%h$HOME'] });
  assert.match(String(esc.svc!.serviceConfig.ExecStart), /"--log-level" "%%h\$\$HOME"/);

  const off = await evalIssuer(env, { enable: false });
  assert.equal(off.svc, null);
  assert.deepEqual(off.users, {});
  assert.deepEqual(off.failed, []);
});

test('typed listenAddress/port: a port outside 0-65535 or a string port is a type error, as in NixOS', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  for (const port of [70000, '8443']) {
    const err = await nixEvalError(env, harnessExpr({ modules: [NIX_MODULE], config: { services: { nixca: { ...BASE, port } } } }, 'h: h.config.systemd.services.nixca.serviceConfig.ExecStart'));
    assert.match(err, /services\.nixca\.port' is not of type `16 bit unsigned integer/);
  }
  // The removed string option is an unknown option now.
  const gone = await nixEvalError(env, harnessExpr({ modules: [NIX_MODULE], config: { services: { nixca: { ...BASE, listen: '0.0.0.0:8443' } } } }, 'h: h.config.services.nixca'));
  assert.match(gone, /The option `services\.nixca\.listen' does not exist/);
});

test('the operator\'s nixca on the issuer host runs as the service user, with its state directory and credentials', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const v = await evalIssuer(env, { ...BASE, credentials: { other: '/run/secrets/other' } });
  assert.deepEqual(v.bin.map((b) => b.name), ['nixca']);
  const text = v.bin[0]!.text;
  assert.match(text, /systemd-257\/bin\/systemd-run --quiet --wait --collect --service-type=exec "\$mode"/);
  assert.match(text, /--uid=nixca --gid=nixca --working-directory=\/var\/lib\/nixca/);
  assert.match(text, /--property='LoadCredential=nixca-intermediate-passphrase:\/run\/agenix\/nixca-intermediate' --property='LoadCredential=other:\/run\/secrets\/other'/);
  assert.match(text, /--setenv=NIXCA_STATE_DIR=\/var\/lib\/nixca/);
  assert.match(text, /--setenv=NIXCA_ADMIN_SOCKET=\/run\/nixca\/admin\.sock/);
  assert.match(text, /nixca-0\.1\.0\/bin\/nixca "\$@"/);
  // Checked by bash itself: the script parses.
  const dir = await tempDir(t);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'nixca'), text);
  const r = await run('bash', ['-n', join(dir, 'nixca')], env);
  assert.equal(r.code, 0, r.stderr);
  const off = await evalIssuer(env, { ...BASE, operatorCli: false });
  assert.deepEqual(off.bin, []);
});

test('flake.nix nixosModules.default: the issuer module with the flake\'s own package', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const { writeFile } = await import('node:fs/promises');
  const mod = join(dir, 'flake-module.nix');
  // The module itself as the file's value: nixpkgs' evalModules hands a module function only the
  // _module.args (pkgs) its formals name, so a wrapper `args: m args` would pass no pkgs on.
  await writeFile(mod, `(import ${JSON.stringify(join(HARNESS_DIR, 'flake-eval.nix'))}).self.nixosModules.default\n`);
  const v = await evalIssuer(env, BASE, [mod]);
  assert.deepEqual(v.failed, []);
  assert.match(argv(v.svc!.serviceConfig.ExecStart)[0]!, /^\/nix\/store\/0+-nixca-0\.1\.0\/bin\/nixca$/);
  // That package is the buildNpmPackage result (args kept by the stand-in), not the harness's pkgs.nixca.
  const viaFlake = await nixEval(env, harnessExpr({ modules: [mod], config: { services: { nixca: BASE } } }, 'h: h.config.services.nixca.package.args.pname'));
  assert.equal(viaFlake, 'nixca');
});
