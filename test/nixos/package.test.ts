// flake.nix and package.nix, evaluated by real nix 2.8 against stand-ins for the nixpkgs functions
// they call (test/nixos/pkgs.nix: argument checks as nixpkgs declares them). Nothing is built with
// nixpkgs here; what can be checked for real is: the source set the package builds from compiles
// with `tsc` alone and `npm pack` installs the files the CLI reads at run time.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/cli.js';
import { HARNESS_DIR, nixEval, nixEvalError, nixInstantiate, run, sandboxEnv } from './tools.js';

const ROOT = join(HARNESS_DIR, '../..');
const FLAKE_EVAL = join(HARNESS_DIR, 'flake-eval.nix');
const PKGS = join(HARNESS_DIR, 'pkgs.nix');
const lit = JSON.stringify;
const pkgJson = (await import('node:fs/promises')).readFile(join(ROOT, 'package.json'), 'utf8').then((t) => JSON.parse(t) as { name: string; version: string; description: string });

test('flake.nix and package.nix parse', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  for (const f of ['flake.nix', 'package.nix']) {
    const r = await nixInstantiate(['--parse', join(ROOT, f)], env);
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
});

test('flake outputs: packages, apps, overlay and NixOS module on x86_64-linux and aarch64-linux', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const v = (await nixEval(env, `let f = import ${lit(FLAKE_EVAL)}; s = f.self; in {
    inputs = f.inputNames;
    systems = builtins.attrNames s.packages;
    pk = builtins.mapAttrs (_: p: builtins.mapAttrs (_: d: { inherit (d) name system; }) p) s.packages;
    same = builtins.mapAttrs (_: p: p.default == p.nixca) s.packages;
    apps = builtins.mapAttrs (_: a: { inherit (a.default) type program; }) s.apps;
    overlay = (s.overlays.default f.perSystem.aarch64-linux f.perSystem.aarch64-linux).nixca.system;
    modules = builtins.attrNames s.nixosModules;
    moduleIsFn = builtins.isFunction s.nixosModules.default;
  }`)) as Record<string, unknown>;
  const { version } = await pkgJson;
  const drv = '/nix/store/00000000000000000000000000000000-nixca-' + version;
  assert.deepEqual(v, {
    inputs: ['nixpkgs'],
    systems: ['aarch64-linux', 'x86_64-linux'],
    pk: Object.fromEntries(['aarch64-linux', 'x86_64-linux'].map((s) => [s, { default: { name: `nixca-${version}`, system: s }, nixca: { name: `nixca-${version}`, system: s } }])),
    same: { 'aarch64-linux': true, 'x86_64-linux': true },
    apps: Object.fromEntries(['aarch64-linux', 'x86_64-linux'].map((s) => [s, { type: 'app', program: `${drv}/bin/nixca` }])),
    overlay: 'aarch64-linux',
    modules: ['default', 'nixca'],
    moduleIsFn: true,
  });
});

test('package.nix: buildNpmPackage from package-lock.json through importNpmLock, node 22, the node flags in the wrapper', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const v = (await nixEval(env, `let pkgs = import ${lit(PKGS)} { }; p = pkgs.callPackage ${lit(join(ROOT, 'package.nix'))} { }; a = p.args; in {
    inherit (a) pname version postInstall;
    hasHash = a ? npmDepsHash;
    deps = { inherit (a.npmDeps) name _importNpmLock; pkg = a.npmDeps.package.name; lockVersion = a.npmDeps.packageLock.lockfileVersion; };
    hook = a.npmConfigHook == pkgs.importNpmLock.npmConfigHook;
    node = a.nodejs.name;
    nbi = map (d: d.name) a.nativeBuildInputs;
    meta = { inherit (a.meta) mainProgram platforms description; license = a.meta.license.spdxId; };
  }`)) as Record<string, unknown> & { postInstall: string };
  const pkg = await pkgJson;
  assert.equal(v.pname, pkg.name);
  assert.equal(v.version, pkg.version);
  assert.equal(v.hasHash, false, 'no npmDepsHash to keep in sync');
  assert.deepEqual(v.deps, { name: `${pkg.name}-${pkg.version}-sources`, _importNpmLock: true, pkg: pkg.name, lockVersion: 3 });
  assert.equal(v.hook, true);
  assert.equal(v.node, 'nodejs-22.12.0');
  assert.deepEqual(v.nbi, ['make-shell-wrapper-hook']);
  assert.deepEqual(v.meta, { mainProgram: 'nixca', platforms: ['x86_64-linux', 'aarch64-linux'], description: pkg.description, license: 'MIT' });
  // V8 flags go before the script: node <flags> main.js "$@".
  assert.match(v.postInstall, /makeWrapper \/nix\/store\/0+-nodejs-22\.12\.0\/bin\/node "\$out\/bin\/nixca" \\\n\s+--add-flags "--max-semi-space-size=4 --v8-pool-size=1 \$out\/lib\/node_modules\/nixca\/dist\/cli\/main\.js"/);
  const sh = await run('bash', ['-n', '-c', v.postInstall], env);
  assert.equal(sh.code, 0, sh.stderr);
});

test('the stand-ins refuse what nixpkgs refuses (so the checks above could fail)', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const pkgs = `import ${lit(PKGS)} { }`;
  const cases: [string, RegExp][] = [
    [`(${pkgs}).buildNpmPackage { pname = "x"; version = "1"; src = ./.; }`, /needs npmDeps or npmDepsHash/],
    [`(${pkgs}).buildNpmPackage { pname = "x"; version = "1"; src = ./.; npmDeps = (${pkgs}).importNpmLock { package = { }; packageLock = { lockfileVersion = 3; }; }; }`, /needs npmConfigHook = importNpmLock.npmConfigHook/],
    [`(${pkgs}).importNpmLock { package = { }; packageLock = { lockfileVersion = 3; }; npmDepsHash = ""; }`, /called with unexpected argument 'npmDepsHash'/],
    [`(${pkgs}).importNpmLock { package = { }; packageLock = { lockfileVersion = 1; }; }`, /lockfileVersion 2 or 3/],
    [`(${pkgs}).callPackage ({ lib, noSuchPackage }: 1) { }`, /without required argument "noSuchPackage"/],
    [`(${pkgs}).lib.fileset.toSource { root = /.; fileset = (${pkgs}).lib.fileset.unions [ /nonexistent-nixca ]; }`, /does not exist/],
  ];
  for (const [expr, message] of cases) assert.match(await nixEvalError(env, `builtins.deepSeq (${expr}) 1`), message, expr);
});

test('the package source: what `npm run build` needs and nothing from tests, benches, docs or state; npm pack installs the CLI and the node module', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const files = (await nixEval(env, `((import ${lit(PKGS)} { }).callPackage ${lit(join(ROOT, 'package.nix'))} { }).src.files`)) as string[];
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'cli/main.ts', 'cli/systemd-notify.ts', 'src/nixos/emit.ts', 'nix-module/node.nix', 'nix-module/nixca.nix']) assert.ok(files.includes(f), f);
  const outside = files.filter((f) => !/^(cli|src|nix-module)\//.test(f) && !['package.json', 'package-lock.json', 'tsconfig.json'].includes(f));
  assert.deepEqual(outside, []);
  assert.deepEqual(files.filter((f) => /(^|\/)(test|bench|docs|dist|node_modules|nixca-state|\.nixca-dev)\//.test(f)), []);
  // Every tracked file under cli/ src/ nix-module/ is in it (a new directory would need adding).
  const git = await promisify(execFile)('git', ['-C', ROOT, 'ls-files', 'cli', 'src', 'nix-module']);
  for (const f of git.stdout.trim().split('\n')) assert.ok(files.includes(f), `tracked ${f} missing from the package source`);

  // Everything `tsc` will resolve from that set is in it: every relative import of every .ts file
  // (static and dynamic, `.js` specifiers as NodeNext writes them) names a file of the set.
  const { readFile } = await import('node:fs/promises');
  const { posix } = await import('node:path');
  const set = new Set(files);
  let imports = 0;
  for (const f of files.filter((x) => x.endsWith('.ts'))) {
    const text = await readFile(join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\)\()'(\.{1,2}\/[^']+)'/g)) {
      const target = posix.normalize(posix.join(posix.dirname(f), m[1]!)).replace(/\.js$/, '.ts');
      // createRequire(import.meta.url)('../../package.json') runs from dist/cli: one level more.
      const resolved = target.endsWith('.json') ? posix.normalize(posix.join(posix.dirname(f), '..', m[1]!)).replace(/^\.\.\//, '') : target;
      assert.ok(set.has(resolved) || set.has(target), `${f} imports ${m[1]}, which is not in the package source`);
      imports++;
    }
  }
  assert.ok(imports > 100, `only ${imports} imports seen: the pattern is broken`);

  // npm pack (what npmInstallHook copies) of the built tree: the compiled CLI and the node module, no tests.
  const pack = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 120_000, env: { ...env, npm_config_cache: join(dir, 'npm-cache') } }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: err ? stderr : stdout }));
  });
  assert.equal(pack.code, 0, pack.out);
  const packed = (JSON.parse(pack.out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const f of ['package.json', 'dist/cli/main.js', 'dist/cli/nixos.js', 'dist/cli/systemd-notify.js', 'dist/src/nixos/emit.js', 'nix-module/node.nix', 'nix-module/nixca.nix']) assert.ok(packed.includes(f), `npm pack leaves out ${f}`);
  assert.deepEqual(packed.filter((f) => /^(test|bench|docs|dist\/test|dist\/bench|src|cli)\//.test(f)), []);
});
