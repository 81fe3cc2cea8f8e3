import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { attrs, call, int, list, moduleFn, nixAttrName, nixString, path, ref, renderNixFile, str, NixExprError, commentLines } from '../../src/nixos/nix-expr.js';
import { tempDir } from '../helpers/cli.js';
import { nixInstantiate, sandboxEnv } from './tools.js';

const HOSTILE = [
  'plain',
  'a "quoted" word',
  'back\\slash and trailing \\',
  '${builtins.readFile /etc/shadow}',
  '$${x}',
  '\\${x}',
  '$',
  'line one\nline two\r\n\ttabbed',
  "'' indented-string terminator ''${x}",
  '" + builtins.toString 1 + "',
  'ünïcødé ✓',
  '',
];

test('every hostile string survives a round trip through real nix-instantiate unchanged', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const file = join(dir, 'strings.nix');
  await writeFile(file, renderNixFile(['round trip'], list(HOSTILE.map(str))));
  const r = await nixInstantiate(['--eval', '--strict', '--json', file], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), HOSTILE);
  // And as attribute names: still the same names, no code executed.
  const names = join(dir, 'names.nix');
  await writeFile(names, renderNixFile([], attrs(HOSTILE.filter((h) => h !== '').map((h, i) => [h, int(i)] as const))));
  const n = await nixInstantiate(['--eval', '--strict', '--json', names], env);
  assert.equal(n.code, 0, n.stderr);
  assert.deepEqual(Object.keys(JSON.parse(n.stdout)).sort(), HOSTILE.filter((h) => h !== '').sort());
});

test('strings are escaped: quotes, backslashes, every $, newlines', () => {
  assert.equal(nixString('a"b'), '"a\\"b"');
  assert.equal(nixString('a\\b'), '"a\\\\b"');
  assert.equal(nixString('${x}'), '"\\${x}"');
  assert.equal(nixString('a\nb'), '"a\\nb"');
  assert.equal(nixAttrName('nuc-1'), 'nuc-1');
  assert.equal(nixAttrName('1cloud'), '"1cloud"');
  assert.equal(nixAttrName('in'), '"in"');
  assert.equal(nixAttrName('nixca/root-ca.pem'), '"nixca/root-ca.pem"');
});

test('control characters, raw code and unsafe paths are refused, not written', () => {
  assert.throws(() => str('a\u0000b'), NixExprError);
  assert.throws(() => str('bell\u0007'), NixExprError);
  assert.throws(() => ref('lib.mkForce "x"'), NixExprError);
  assert.throws(() => ref('a; b'), NixExprError);
  assert.throws(() => path('/etc/shadow'), NixExprError);
  assert.throws(() => path('./a b'), NixExprError);
  assert.throws(() => path('./x"; y'), NixExprError);
  assert.throws(() => path('./a/${x}'), NixExprError);
  assert.throws(() => int(1.5), NixExprError);
  assert.throws(() => moduleFn(['config; x'], attrs([])), NixExprError);
  assert.throws(() => attrs([['a', int(1)], ['a', int(2)]]), NixExprError);
  assert.throws(() => commentLines(['ok', 'evil\n{ x = 1; }'], '#'), NixExprError);
});

test('module, let, calls and lists render as parseable Nix', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const file = join(dir, 'm.nix');
  const text = renderNixFile(['header'], moduleFn(['lib'], attrs([
    [['a', 'b.c', 'd'], call('lib.mkDefault', str('x'))],
    ['l', list([call('builtins.toString', int(1)), str('y'), path('./z.pem')])],
  ])));
  await writeFile(file, text);
  const r = await nixInstantiate(['--parse', file], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(text, /^# header\n\{ lib, \.\.\. \}:\n\{\n {2}a\."b\.c"\.d = lib\.mkDefault "x";\n {2}l = \[\n {4}\(builtins\.toString 1\)\n {4}"y"\n {4}\.\/z\.pem\n {2}\];\n\}\n$/);
});
