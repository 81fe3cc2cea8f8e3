// The harness stands in for nixpkgs' module system: these checks show that it fails where NixOS
// fails (so the emitter tests that pass through it could fail too), on the semantics they rely on.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { harnessExpr, nixEval, nixEvalError, sandboxEnv } from './tools.js';

test('the harness merges like NixOS: priorities, mkIf, list order, types, unknown options', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const mod = async (name: string, text: string) => {
    const f = join(dir, name);
    await writeFile(f, text);
    return f;
  };
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
  assert.equal(v.e, 'a\nb');

  const conflict = await mod('c.nix', `{ ... }: { nix.settings.x = 5; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [b, conflict] }, 'h: h.config.nix.settings.x')), /conflicting definition values/);
  const unknown = await mod('d.nix', `{ ... }: { services.caddy.virtualHost = { }; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [unknown] }, 'h: h.config.services.caddy')), /services\.caddy\.virtualHost' does not exist/);
  const typed = await mod('e.nix', `{ ... }: { services.caddy.enable = "yes"; }`);
  assert.match(await nixEvalError(env, harnessExpr({ modules: [typed] }, 'h: h.config.services.caddy.enable')), /not of type `boolean'/);
});
