// The emitted node module against each generation of the nixpkgs modules it meets (the harness's
// stand-ins, evaluated by real nix 2.8): what nixpkgs leaves unset there, options it lacks, and
// what NixOS stops on. The output of one real `nixca nixos emit` of a one-node fleet.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRoot } from '../../src/ca/root.js';
import { ACME, cli } from './fleet.js';
import { harnessExpr, nixEval, nixEvalError, sandboxEnv, type HarnessArgs } from './tools.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let node: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nixca-node-compat-'));
  env = await sandboxEnv(join(dir, 'sandbox'));
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o700 });
  await cli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.internal', '--state', state]);
  await cli(['key', 'generate', 'nuc-1', '--activate', '--secret-out', join(dir, 'k.sec'), '--state', state]);
  const root = await createRoot({ commonName: 'n3x test root', permittedDns: ['n3x.internal'] });
  await writeFile(join(dir, 'root.pem'), root.certificate.toString('pem'));
  await cli(['nixos', 'emit', '--state', state, '--out', join(dir, 'out'), '--acme-directory', ACME, '--root-cert', join(dir, 'root.pem')]);
  node = join(dir, 'out', 'nodes', 'nuc-1.nix');
});

after(() => rm(dir, { recursive: true, force: true }));

/** The system as NixOS builds it (toplevel: assertions first, then the units and the Caddyfile). */
async function build(args: Omit<HarnessArgs, 'modules'>): Promise<{ warnings: string[]; caddyfile: string; units: Record<string, { serviceConfig: Record<string, unknown> }> }> {
  return (await nixEval(env, harnessExpr({ modules: [node], ...args }, 'h: h.toplevel'))) as never;
}

const proxied = (caddyfile: string) => [...caddyfile.matchAll(/reverse_proxy (\S+)/g)].map((m) => m[1]);

test("a bind nobody sets: the flat module (<= 25.11) leaves it to Harmonia, whose default is [::]:5000; the site proxies to [::1]:5000", async () => {
  const flat = await build({ harmonia: 'flat' });
  assert.deepEqual(flat.warnings, []);
  assert.deepEqual(proxied(flat.caddyfile), ['[::1]:5000']);
  // Nothing put a bind into the flat module's settings (the node module sets none either).
  const settings = await nixEval(env, harnessExpr({ modules: [node], harmonia: 'flat' }, 'h: h.config.services.harmonia.settings'));
  assert.deepEqual(settings, {});
  // The nested module's own mkDefault gives the same address.
  const nested = await build({ harmonia: 'cache' });
  assert.deepEqual(proxied(nested.caddyfile), ['[::1]:5000']);
});

test("a Harmonia module without signKeyPaths (before 24.11): the build stops with the node module's assertion, not 'option does not exist'", async () => {
  const err = await nixEvalError(env, harnessExpr({ modules: [node], harmonia: 'single-key' }, 'h: h.toplevel'));
  assert.match(err, /Failed assertions:\s+- nixca: this nixpkgs' Harmonia module has no signKeyPaths \(multi-key signing, NixOS 24\.11 and later\); the node module needs it\.\n/);
  assert.doesNotMatch(err, /does not exist|attribute .* missing/);
});

test("services.caddy.settings (nixpkgs then serves only that JSON, no virtualHosts): the build stops with the node module's assertion instead of dropping nixca's site", async () => {
  const settings = { apps: { http: { servers: { own: { listen: [':8080'] } } } } };
  const err = await nixEvalError(env, harnessExpr({ modules: [node], config: { services: { caddy: { settings } } } }, 'h: h.toplevel'));
  assert.match(err, /Failed assertions:\s+- nixca: services\.caddy\.settings is set, so nixpkgs' Caddy module serves only that JSON and ignores services\.caddy\.virtualHosts, where nixca's sites \(cache\.nuc-1\.n3x\.internal\) are/);
  // What would have been served: the machine's JSON, without the site.
  const served = (await nixEval(env, harnessExpr({ modules: [node], config: { services: { caddy: { settings } } } }, 'h: h.caddyfile'))) as string;
  assert.deepEqual(JSON.parse(served), settings);
  assert.deepEqual(proxied((await build({})).caddyfile), ['[::1]:5000']);
});
