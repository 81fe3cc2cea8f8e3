// The only code in nixca that produces Nix syntax. Every value that reaches a generated `.nix`
// file goes through this writer, so escaping lives in exactly one place:
//   - strings are always double-quoted with `\`, `"`, `$` (hence `${`), newline, CR and tab
//     escaped (Nix manual, "String literals": `\` escapes the next character; `\$` is a `$`);
//   - attribute names are bare only when they are plain identifiers and not keywords;
//   - code that is not data (a reference like `lib.mkDefault`, a path literal) is accepted only
//     when it matches a strict pattern, so no caller can smuggle raw text into a file.
// The expressions are a small AST: enough for NixOS modules, nothing more.

export class NixExprError extends Error {
  override readonly name = 'NixExprError';
  readonly kind = 'input' as const;
  readonly code = 'NIXOS_EXPR_INVALID';
}

/** An attribute name, or an attribute path (`[ 'environment', 'etc', 'nixca/root-ca.pem' ]`). */
export type AttrKey = string | readonly string[];

export type Expr =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'null' }
  | { readonly t: 'list'; readonly items: readonly Expr[] }
  | { readonly t: 'attrs'; readonly entries: readonly (readonly [AttrKey, Expr])[] }
  | { readonly t: 'path'; readonly p: string }
  | { readonly t: 'ref'; readonly name: string }
  | { readonly t: 'call'; readonly fn: Expr; readonly args: readonly Expr[] }
  | { readonly t: 'module'; readonly params: readonly string[]; readonly body: Expr }
  | { readonly t: 'let'; readonly bindings: readonly (readonly [string, Expr])[]; readonly body: Expr };

const KEYWORDS = new Set(['if', 'then', 'else', 'assert', 'with', 'let', 'in', 'rec', 'inherit', 'or']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_'-]*$/;
const isIdent = (s: string) => IDENT.test(s) && !KEYWORDS.has(s);
// Relative path literals only (`./root-ca.pem`, `../trust.nix`): an absolute one would tie the
// output to the machine that emitted it, and anything fancier is not needed.
const PATH_LITERAL = /^(?:\.\.?\/)+[A-Za-z0-9._+-]+(?:\/[A-Za-z0-9._+-]+)*$/;
// Control characters with no Nix escape sequence: refused rather than written raw.
// eslint-disable-next-line no-control-regex
const UNWRITABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

// ---- constructors -------------------------------------------------------------------------

export const str = (v: string): Expr => {
  if (typeof v !== 'string') throw new NixExprError(`expected a string, got ${typeof v}`);
  if (UNWRITABLE.test(v)) throw new NixExprError(`string ${JSON.stringify(v)} contains a control character that cannot be written to a Nix file`);
  return { t: 'str', v };
};

export const int = (v: number): Expr => {
  if (!Number.isSafeInteger(v)) throw new NixExprError(`expected an integer, got ${String(v)}`);
  return { t: 'int', v };
};

export const bool = (v: boolean): Expr => ({ t: 'bool', v });
export const nul: Expr = { t: 'null' };
export const list = (items: readonly Expr[]): Expr => ({ t: 'list', items });

/**
 * An attribute set; entries keep the caller's order (the caller is deterministic). A key may be an
 * attribute path. Nix itself refuses a path defined twice; refusing it here gives a clearer error.
 */
export const attrs = (entries: readonly (readonly [AttrKey, Expr])[] | Record<string, Expr>): Expr => {
  const e: readonly (readonly [AttrKey, Expr])[] = Array.isArray(entries) ? entries : Object.entries(entries);
  const seen = new Set<string>();
  for (const [k] of e) {
    const parts = typeof k === 'string' ? [k] : k;
    if (parts.length === 0) throw new NixExprError('empty attribute path');
    parts.forEach((p) => str(p)); // same character rules as a string
    const id = JSON.stringify(parts);
    if (seen.has(id)) throw new NixExprError(`attribute ${parts.join('.')} defined twice`);
    seen.add(id);
  }
  return { t: 'attrs', entries: e };
};

export const path = (p: string): Expr => {
  if (!PATH_LITERAL.test(p)) throw new NixExprError(`${JSON.stringify(p)} is not a safe relative path literal`);
  return { t: 'path', p };
};

/** A reference such as `lib.mkDefault` or `config.nixca.trust.excludeNodes`: identifiers joined by dots. */
export const ref = (name: string): Expr => {
  if (!name.split('.').every(isIdent)) throw new NixExprError(`${JSON.stringify(name)} is not a reference`);
  return { t: 'ref', name };
};

export const call = (fn: string | Expr, ...args: Expr[]): Expr => ({ t: 'call', fn: typeof fn === 'string' ? ref(fn) : fn, args });

/** `{ a, b, ... }: body`, the shape of a NixOS module. */
export const moduleFn = (params: readonly string[], body: Expr): Expr => {
  for (const p of params) if (!isIdent(p)) throw new NixExprError(`${JSON.stringify(p)} is not a parameter name`);
  return { t: 'module', params, body };
};

export const letIn = (bindings: readonly (readonly [string, Expr])[], body: Expr): Expr => {
  for (const [k] of bindings) if (!isIdent(k)) throw new NixExprError(`${JSON.stringify(k)} is not a binding name`);
  return { t: 'let', bindings, body };
};

// ---- rendering ----------------------------------------------------------------------------

/** A Nix string literal for any text: the one escaping function. */
export function nixString(v: string): string {
  str(v);
  let out = '"';
  for (const ch of v) {
    switch (ch) {
      case '\\': out += '\\\\'; break;
      case '"': out += '\\"'; break;
      // Escaping every `$` (not just `${`) is simplest and never wrong: `\$` is a literal `$`.
      case '$': out += '\\$'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      default: out += ch;
    }
  }
  return out + '"';
}

export function nixAttrName(k: string): string {
  return isIdent(k) ? k : nixString(k);
}

export function nixAttrPath(k: AttrKey): string {
  return typeof k === 'string' ? nixAttrName(k) : k.map(nixAttrName).join('.');
}

const INDENT = '  ';

function isSimple(e: Expr): boolean {
  return e.t === 'str' || e.t === 'int' || e.t === 'bool' || e.t === 'null' || e.t === 'path' || e.t === 'ref';
}

function render(e: Expr, depth: number): string {
  const pad = INDENT.repeat(depth);
  const inner = INDENT.repeat(depth + 1);
  switch (e.t) {
    case 'str': return nixString(e.v);
    case 'int': return String(e.v);
    case 'bool': return e.v ? 'true' : 'false';
    case 'null': return 'null';
    case 'path': return e.p;
    case 'ref': return e.name;
    case 'list':
      if (e.items.length === 0) return '[ ]';
      // One element per line: a change to the fleet shows up as a one-line diff.
      return `[\n${e.items.map((i) => inner + renderListItem(i, depth + 1)).join('\n')}\n${pad}]`;
    case 'attrs':
      if (e.entries.length === 0) return '{ }';
      return `{\n${e.entries.map(([k, v]) => `${inner}${nixAttrPath(k)} = ${render(v, depth + 1)};`).join('\n')}\n${pad}}`;
    case 'call':
      return [render(e.fn, depth), ...e.args.map((a) => renderArg(a, depth))].join(' ');
    case 'module':
      return `{ ${[...e.params, '...'].join(', ')} }:\n${pad}${render(e.body, depth)}`;
    case 'let':
      return `let\n${e.bindings.map(([k, v]) => `${inner}${k} = ${render(v, depth + 1)};`).join('\n')}\n${pad}in\n${pad}${render(e.body, depth)}`;
  }
}

// Function application binds tighter than anything but selection: a call inside a list or as
// an argument needs parentheses.
function renderListItem(e: Expr, depth: number): string {
  return e.t === 'call' || e.t === 'module' || e.t === 'let' ? `(${render(e, depth)})` : render(e, depth);
}

function renderArg(e: Expr, depth: number): string {
  return isSimple(e) || e.t === 'list' || e.t === 'attrs' ? render(e, depth) : `(${render(e, depth)})`;
}

export function renderExpr(e: Expr): string {
  return render(e, 0);
}

/** A whole `.nix` file: `#` comment lines (each checked to be one line), then the expression. */
export function renderNixFile(header: readonly string[], e: Expr): string {
  return commentLines(header, '#') + renderExpr(e) + '\n';
}

/** Comment lines for any generated file (Nix and Caddyfile both use `#`): a newline would end the comment. */
export function commentLines(lines: readonly string[], mark: string): string {
  return lines
    .map((l) => {
      if (/[\r\n]/.test(l) || UNWRITABLE.test(l)) throw new NixExprError(`comment line ${JSON.stringify(l)} must be one line of text`);
      return l ? `${mark} ${l}\n` : `${mark}\n`;
    })
    .join('');
}
