// Every command the CLI tells a person to run exists: the string literals of cli/ and src/ are
// scanned for `nixca <command> …` and each command path is walked in the real commander tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Command } from 'commander';
import { buildProgram } from '../../cli/main.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The text of every string literal and template piece in a TypeScript source. */
function stringsOf(text: string): string[] {
  const sf = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) out.push(n.text);
    n.forEachChild(visit);
  };
  visit(sf);
  return out;
}

/**
 * Commands a person is told to run: `nixca word …` in backticks or parentheses, after "run", "with", "try",
 * "use", "then", "e.g." or "or" (with or without a colon), or on an indented line (banners,
 * usage); prose such as "another nixca process" is not a hint. The words end at a flag, a
 * placeholder (NODE) or a ${…}.
 */
export function mentions(s: string): string[][] {
  const hint = /(?:`|\(|\b(?:run|with|try|use|then|e\.g\.|or):? |^[ \t]+)nixca((?: [a-z][a-z0-9-]*)+)/gm;
  return [...s.matchAll(hint)].map((m) => m[1]!.trim().split(' '));
}

/** Null when `words` starts with a real command path; else what is wrong. */
export function checkPath(program: Command, words: readonly string[]): string | null {
  let cmd = program;
  for (const w of words) {
    if (cmd.commands.length === 0) return null; // a leaf: the rest are its arguments
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) return `${[cmd === program ? 'nixca' : cmd.name(), w].join(' ')}: no such command (have: ${cmd.commands.map((c) => c.name()).join(', ')})`;
    cmd = sub;
  }
  return null;
}

const program = await buildProgram({ io: { out: () => undefined, err: () => undefined, env: {}, cwd: '/', interactive: false, promptSecret: async () => '', now: () => new Date() } });

test('the checker finds a command that does not exist (so the scan below can fail)', () => {
  assert.deepEqual(mentions('fix: `nixca key add nuc-1` or nixca node add NODE --dns X; not-nixca thing; nixca-state; another nixca process\n  nixca status --json (nixca key add / key rotate)'), [['key', 'add', 'nuc-1'], ['node', 'add'], ['status'], ['key', 'add']]);
  assert.match(checkPath(program, ['key', 'add', 'nuc-1'])!, /no such command/);
  assert.match(checkPath(program, ['nodes', 'list'])!, /no such command/);
  assert.equal(checkPath(program, ['key', 'rotate', 'nuc-1']), null);
  assert.equal(checkPath(program, ['root', 'transcript', 'verify']), null);
});

test('every `nixca …` hint in cli/ and src/ names a command that exists', () => {
  const files = ['cli', 'src'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => join(e.parentPath, e.name)),
  );
  const bad: string[] = [];
  let checked = 0;
  for (const f of files) {
    for (const s of stringsOf(readFileSync(f, 'utf8'))) {
      for (const words of mentions(s)) {
        checked++;
        const why = checkPath(program, words);
        if (why) bad.push(`${relative(ROOT, f)}: "nixca ${words.join(' ')}": ${why}`);
      }
    }
  }
  assert.ok(checked > 30, `only ${checked} hints found: is the scan reading the sources?`);
  assert.deepEqual(bad, []);
});
