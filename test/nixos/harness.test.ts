// The harness evaluates modules with nixpkgs' real lib.evalModules (vendored) and stand-in option
// declarations: these checks show that it fails where NixOS fails (so the emitter tests that pass
// through it could fail too), on the semantics they rely on, declarations included.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { HARNESS_DIR, harnessExpr, nixEval, nixEvalError, nixLit, sandboxEnv } from './tools.js';

async function setup(t: { after(fn: () => unknown): void }) {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const mod = async (name: string, text: string) => {
    const f = join(dir, name);
    await writeFile(f, text);
    return f;
  };
  return { env, mod };
}

test('the harness merges like NixOS: priorities, mkIf, list order, lines, types', async (t) => {
  const { env, mod } = await setup(t);
  const a = await mod('a.nix', `{ config, lib, ... }: {
    options.demo.enable = lib.mkEnableOption "demo";
    config = lib.mkMerge [
      { nix.settings.substituters = lib.mkBefore [ "https://first" ]; nix.settings.x = lib.mkDefault 1; }
      (lib.mkIf config.demo.enable { systemd.services.demo.description = "on"; services.caddy.extraConfig = "a"; })
      (lib.mkIf (!config.demo.enable) { systemd.services.off.description = "off"; })
    ];
  }`);
  const b = await mod('b.nix', `{ lib, ... }: { demo.enable = true; nix.settings.x = 2; nix.settings.y = lib.mkForce 3; services.caddy.extraConfig = "b"; }`);
  const v = (await nixEval(env, harnessExpr({ modules: [a, b], config: { nix: { settings: { y: 4 } } } }, 'h: { s = h.config.nix.settings; svc = h.config.systemd.services; e = h.config.services.caddy.extraConfig; }'))) as {
    s: { substituters: string[]; x: number; y: number };
    svc: Record<string, unknown>;
    e: string;
  };
  assert.deepEqual(v.s.substituters, ['https://first', 'https://cache.nixos.org/']);
  assert.equal(v.s.x, 2);
  assert.equal(v.s.y, 3);
  assert.deepEqual(Object.keys(v.svc), ['demo']);
  // nixpkgs' evalModules hands an option the definitions of later modules first: b's line, then a's.
  assert.equal(v.e, 'b\na');
  const typed = await mod('e.nix', `{ ... }: { services.caddy.enable = "yes"; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [typed] }, 'h: h.config.services.caddy.enable')), /not of type `boolean'/);
});

test('an unknown option is an error, at the top, in a service namespace, in a submodule and in a module\'s own options', async (t) => {
  const { env, mod } = await setup(t);
  const cases: [string, string, RegExp][] = [
    ['services.caddy.virtualHost = { };', 'h: h.config.services.caddy', /The option `services\.caddy\.virtualHost' does not exist/],
    ['nixx.settings.substituters = [ ];', 'h: h.config', /The option `nixx' does not exist/],
    ['services.caddy.virtualHosts."a.example".extraConfg = "x";', 'h: h.config.services.caddy.virtualHosts', /The option `services\.caddy\.virtualHosts\."a\.example"\.extraConfg' does not exist/],
    ['systemd.services.caddy.serviceConfg.X = 1;', 'h: h.config.systemd.services', /The option `systemd\.services\.caddy\.serviceConfg' does not exist/],
    ['services.harmonia.cache.enable = true;', 'h: h.config.services.harmonia', /The option `services\.harmonia\.cache' does not exist/],
  ];
  for (const [body, select, message] of cases) {
    const f = await mod('unknown.nix', `{ ... }: { ${body} }`);
    assert.match(await nixEvalError(env, harnessExpr({ modules: [f] }, select)), message, body);
  }
  // A module's own namespace is closed too.
  const decl = await mod('decl.nix', `{ lib, ... }: { options.demo.enable = lib.mkEnableOption "demo"; config.demo.enabled = true; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [decl] }, 'h: h.config.demo')), /The option `demo\.enabled' does not exist/);
  // nix.settings is freeform (nix.nix): an undeclared setting is fine there.
  const free = await mod('free.nix', `{ ... }: { nix.settings.connect-timeout = 5; }`);
  assert.equal(await nixEval(env, harnessExpr({ modules: [free] }, 'h: h.config.nix.settings.connect-timeout')), 5);
});

test('conflicting definitions are errors: nullOr path, str, equal priorities; lists and systemd list settings merge', async (t) => {
  const { env, mod } = await setup(t);
  const e1 = await mod('e1.nix', `{ ... }: { services.caddy.environmentFile = "/run/a.env"; }`);
  const e2 = await mod('e2.nix', `{ ... }: { services.caddy.environmentFile = "/run/b.env"; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [e1, e2] }, 'h: h.config.services.caddy.environmentFile')), /The option `services\.caddy\.environmentFile' has conflicting definition values/);
  const n = await mod('n.nix', `{ ... }: { services.caddy.environmentFile = null; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [e1, n] }, 'h: h.config.services.caddy.environmentFile')), /defined both null and not null/);
  // The same value twice is no conflict (mergeEqualOption).
  assert.equal(await nixEval(env, harnessExpr({ modules: [e1, await mod('e1b.nix', `{ ... }: { services.caddy.environmentFile = "/run/a.env"; }`)] }, 'h: h.config.services.caddy.environmentFile')), '/run/a.env');
  // Two mkDefaults of different values conflict; a plain definition beats them.
  const d1 = await mod('d1.nix', `{ lib, ... }: { services.caddy.email = lib.mkDefault "a@x"; }`);
  const d2 = await mod('d2.nix', `{ lib, ... }: { services.caddy.email = lib.mkDefault "b@x"; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [d1, d2] }, 'h: h.config.services.caddy.email')), /conflicting definition values/);
  assert.equal(await nixEval(env, harnessExpr({ modules: [d1, d2], config: { services: { caddy: { email: 'c@x' } } } }, 'h: h.config.services.caddy.email')), 'c@x');
  // systemd's unitOption: a string and a list concatenate; two different strings conflict.
  const s1 = await mod('s1.nix', `{ ... }: { systemd.services.caddy.serviceConfig.EnvironmentFile = "/run/a.env"; systemd.services.caddy.serviceConfig.User = "a"; }`);
  const s2 = await mod('s2.nix', `{ ... }: { systemd.services.caddy.serviceConfig.EnvironmentFile = [ "/run/b.env" ]; }`);
  assert.deepEqual(await nixEval(env, harnessExpr({ modules: [s1, s2] }, 'h: h.config.systemd.services.caddy.serviceConfig.EnvironmentFile')), ['/run/a.env', '/run/b.env']);
  const s3 = await mod('s3.nix', `{ ... }: { systemd.services.caddy.serviceConfig.User = "b"; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [s1, s3] }, 'h: h.config.systemd.services.caddy.serviceConfig.User')), /systemd\.services\.caddy\.serviceConfig\.User' has conflicting definition values/);
  // A virtual host defined twice merges its lines (no second site block).
  const v1 = await mod('v1.nix', `{ ... }: { services.caddy.enable = true; services.caddy.virtualHosts."c.example".extraConfig = "reverse_proxy 127.0.0.1:5000"; }`);
  const v2 = await mod('v2.nix', `{ ... }: { services.caddy.virtualHosts."c.example".extraConfig = "encode zstd"; }`);
  const vh = (await nixEval(env, harnessExpr({ modules: [v1, v2] }, 'h: h.config.services.caddy.virtualHosts."c.example"'))) as { hostName: string; extraConfig: string; logFormat: string };
  assert.deepEqual(vh, { hostName: 'c.example', serverAliases: [], listenAddresses: [], useACMEHost: null, logFormat: 'output file /var/log/caddy/access-c.example.log\n', extraConfig: 'reverse_proxy 127.0.0.1:5000\nencode zstd' });
});

test('after the Harmonia move, the flat names still work but warn (mkRenamedOptionModule)', async (t) => {
  const { env, mod } = await setup(t);
  const flat = await mod('flat.nix', `{ ... }: { services.harmonia.enable = true; services.harmonia.signKeyPaths = [ "/run/k" ]; }`);
  const v = (await nixEval(env, harnessExpr({ modules: [flat], harmonia: 'cache' }, 'h: { inherit (h) warnings; c = h.config.services.harmonia.cache; }'))) as { warnings: string[]; c: { enable: boolean; signKeyPaths: string[] } };
  assert.equal(v.c.enable, true);
  assert.deepEqual(v.c.signKeyPaths, ['/run/k']);
  // lib.mkRenamedOptionModule's warning names the file of the definition.
  assert.deepEqual([...v.warnings].sort(), [
    `The option \`services.harmonia.enable' defined in \`${flat}' has been renamed to \`services.harmonia.cache.enable'.`,
    `The option \`services.harmonia.signKeyPaths' defined in \`${flat}' has been renamed to \`services.harmonia.cache.signKeyPaths'.`,
  ]);
});

test('an undeclared definition fails every read of config, assertions too; failed assertions stop the build with their text', async (t) => {
  const { env, mod } = await setup(t);
  // nixpkgs' evalModules returns `config = checked (…)`: the check covers the whole tree, so a
  // module's assertion can never be what the user sees while another definition is undeclared.
  const both = await mod('both.nix', `{ ... }: { services.harmonia.cache.enable = true; assertions = [ { assertion = false; message = "mine"; } ]; }`);
  for (const select of ['h: h.failedAssertions', 'h: h.config.networking', 'h: h.toplevel']) {
    assert.match(await nixEvalError(env, harnessExpr({ modules: [both] }, select)), /The option `services\.harmonia\.cache' does not exist/, select);
  }
  const only = await mod('only.nix', `{ ... }: { assertions = [ { assertion = false; message = "first"; } { assertion = true; message = "no"; } { assertion = false; message = "second"; } ]; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [only] }, 'h: h.toplevel')), /Failed assertions:\s+- first\s+- second\n/);
  const fine = await mod('fine.nix', `{ ... }: { services.caddy.enable = true; }`);
  const v = (await nixEval(env, harnessExpr({ modules: [fine] }, 'h: h.toplevel'))) as { units: Record<string, unknown>; caddyfile: string };
  assert.deepEqual(Object.keys(v.units), ['caddy']);
});

test('every lib attribute our modules, the flake, package.nix and the harness name is in the vendored lib', async (t) => {
  const { env } = await setup(t);
  const root = join(HARNESS_DIR, '../..');
  const nixFiles = [
    ...(await readdir(join(root, 'nix-module'))).filter((f) => f.endsWith('.nix')).map((f) => join(root, 'nix-module', f)),
    ...['flake.nix', 'package.nix', 'test/nixos/harness.nix', 'test/nixos/pkgs.nix'].map((f) => join(root, f)),
  ];
  const names = new Set<string>();
  for (const f of nixFiles) {
    // Comments name upstream functions the code does not call.
    const code = (await readFile(f, 'utf8')).split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).join('\n');
    for (const m of code.matchAll(/\blib\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)/g)) names.add(m[1]!);
  }
  // The emitter's references (ref('lib.mkDefault'), call('lib.types.listOf', …)).
  for (const f of (await readdir(join(root, 'src/nixos'))).filter((x) => x.endsWith('.ts'))) {
    for (const m of (await readFile(join(root, 'src/nixos', f), 'utf8')).matchAll(/'lib\.([\w.]+)'/g)) names.add(m[1]!);
  }
  // pkgs.nix's own stand-ins (fileset needs a store; getExe is stricter).
  const standIns = ['fileset', 'getExe'];
  const paths = [...names].sort().filter((n) => !standIns.includes(n.split('.')[0]!));
  assert.ok(paths.includes('evalModules') && paths.includes('types.listOf') && paths.includes('mkDefault'), paths.join(' '));
  const expr = `let lib = import ${nixLit(join(HARNESS_DIR, 'vendor/nixpkgs-lib/lib'))}; in builtins.filter (p: !(lib.hasAttrByPath (lib.splitString "." p) lib)) ${`[ ${paths.map(nixLit).join(' ')} ]`}`;
  assert.deepEqual(await nixEval(env, expr), []);
});
