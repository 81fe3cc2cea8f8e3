// No source file in src/ or cli/ over 400 lines: a file that long holds more than one idea and
// should be split along its seams (docs/DESIGN.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const MAX_LINES = 400;

/** Lines as `wc -l` counts them (newline characters; a last line without one still counts). */
export function lineCount(text: string): number {
  const nl = text.split('\n').length - 1;
  return text.length > 0 && !text.endsWith('\n') ? nl + 1 : nl;
}

test('lineCount counts like wc -l', () => {
  assert.equal(lineCount(''), 0);
  assert.equal(lineCount('a\n'), 1);
  assert.equal(lineCount('a\nb'), 2);
  assert.equal(lineCount('a\n'.repeat(401)), 401);
});

test(`no file in src/ or cli/ is over ${MAX_LINES} lines`, () => {
  const files = ['src', 'cli'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && /\.(ts|js|mjs|cjs)$/.test(e.name))
      .map((e) => join(e.parentPath, e.name)),
  );
  assert.ok(files.length > 50, `found only ${files.length} source files under ${ROOT}`);
  const long = files
    .map((f) => ({ file: relative(ROOT, f), lines: lineCount(readFileSync(f, 'utf8')) }))
    .filter((f) => f.lines > MAX_LINES);
  assert.deepEqual(long, [], `split these along their seams: ${long.map((f) => `${f.file} (${f.lines})`).join(', ')}`);
});
