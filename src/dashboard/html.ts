// The dashboard's template layer: a tagged template that escapes every interpolated value. Only a
// value that is itself the result of `html` (class Html) is inserted as markup, so a string from
// the inventory, the store or the audit log can never become a tag or an attribute, whatever it
// contains. Escaping covers text and double- or single-quoted attribute values (the HTML
// standard's "escape a string" plus quotes); templates never put a value in an unquoted
// attribute, a tag name, a <script> or a <style>. URLs in attributes are built by the views from
// fixed paths and URLSearchParams, then escaped like any text.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

export class Html {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

/** What a template accepts: text (escaped), numbers, markup from `html`, lists of those, or nothing. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.toString();
  if (Array.isArray(v)) return v.map(render).join('');
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}
