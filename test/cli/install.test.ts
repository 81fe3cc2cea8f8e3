// `nixca` on PATH after the README's install (`npm install -g .` after `npm run build`): the bin
// entry of package.json is a built file with a node shebang, and the installed command runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

test('package.json bin: nixca is the built CLI with a node shebang', () => {
  assert.deepEqual(Object.keys(pkg.bin), ['nixca']);
  assert.equal(pkg.bin.nixca, 'dist/cli/main.js');
  assert.match(readFileSync(join(ROOT, pkg.bin.nixca), 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('npm install -g . puts a working nixca on PATH', async (t) => {
  const prefix = await tempDir(t, 'nixca-install-');
  // A global install into a throw-away prefix: npm links the folder, nothing is downloaded.
  const npm = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--offline', ROOT], { encoding: 'utf8', env: { ...process.env, npm_config_cache: join(prefix, 'cache') }, timeout: 120_000 });
  assert.equal(npm.status, 0, npm.stdout + npm.stderr);
  const r = spawnSync('nixca', ['--version'], { encoding: 'utf8', env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});
