// No import circles among the project's modules (src/, cli/): every import counts, static,
// dynamic (`await import(...)`) and type-only, since a circle of any kind means two modules that
// cannot be understood (or split) one without the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

interface Edge {
  spec: string;
  /** Erased at run time (`import type`, `import { type X }` only, `export type … from`, `import('…').T` types). */
  typeOnly: boolean;
}

/** The module specifiers a file imports: static, re-exports, dynamic `import()`, and import types. */
export function importsOf(text: string): Edge[] {
  const sf = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true);
  const edges: Edge[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly = Boolean(c && (c.isTypeOnly || (!c.name && named && named.length > 0 && named.every((e) => e.isTypeOnly))));
      edges.push({ spec: n.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      edges.push({ spec: n.moduleSpecifier.text, typeOnly: n.isTypeOnly });
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      edges.push({ spec: n.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      edges.push({ spec: n.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return edges;
}

/** file → the project files it imports (relative specifiers; './x.js' is the source './x.ts'). */
export function importGraph(files: readonly string[], opts: { runtimeOnly: boolean }): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = importsOf(readFileSync(f, 'utf8'))
      .filter((e) => e.spec.startsWith('.') && !(opts.runtimeOnly && e.typeOnly))
      .map((e) => resolve(dirname(f), e.spec).replace(/\.js$/, '.ts'))
      .filter((p) => existsSync(p));
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

/** Every elementary circle found by a depth-first search (one per back edge). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (n: string) => {
    state.set(n, 'active');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'active') cycles.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

const rel = (cycles: string[][]) => cycles.map((c) => c.map((f) => relative(ROOT, f)).join(' -> '));

test('the checker finds a circle, including one through a dynamic import; type-only edges are told apart', () => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
  assert.deepEqual(findCycles(g), [['a', 'b', 'c', 'a']]);
  const text = [
    "import type { X } from './a.js';",
    "import { type Y } from './b.js';",
    "import { z, type W } from './c.js';",
    "export type { V } from './d.js';",
    "let t: import('./e.js').T;",
    "const m = await import('./f.js');",
  ].join('\n');
  assert.deepEqual(importsOf(text), [
    { spec: './a.js', typeOnly: true },
    { spec: './b.js', typeOnly: true },
    { spec: './c.js', typeOnly: false },
    { spec: './d.js', typeOnly: true },
    { spec: './e.js', typeOnly: true },
    { spec: './f.js', typeOnly: false },
  ]);
});

test('no module of src/ or cli/ takes part in a run-time import circle (static or dynamic import)', () => {
  const graph = importGraph([...sources('src'), ...sources('cli')], { runtimeOnly: true });
  assert.ok(graph.size > 50, `found only ${graph.size} modules`);
  assert.deepEqual(rel(findCycles(graph)), []);
});

test('cli/ and src/config have no import circle at all, type-only imports included', () => {
  const graph = importGraph([...sources('src'), ...sources('cli')], { runtimeOnly: false });
  const ours = (f: string) => /^(cli|src\/config)\//.test(relative(ROOT, f));
  assert.deepEqual(rel(findCycles(graph).filter((c) => c.some(ours))), []);
});
