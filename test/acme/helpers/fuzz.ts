// Request templates whose every member can be replaced by an arbitrary JSON text (deep nesting,
// huge numbers, wrong types), with the JWS and EAB signatures computed over the mutated texts, so
// a mutation reaches the code that reads the member instead of stopping at the signature check.
import { base64url } from 'jose';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json } | Raw | Signed;

/** A member value given as JSON text, inserted verbatim (so `1e400` or 10,000 nested `[` survive). */
export class Raw {
  constructor(readonly text: string) {}
}

export type SigningKey = { kind: 'ecdsa'; privateKey: CryptoKey } | { kind: 'hmac'; secret: Uint8Array };

/** A flattened JWS built from a protected header and a payload ('' for POST-as-GET). */
export class Signed {
  constructor(
    readonly header: Json,
    readonly payload: Json | '',
    readonly key: SigningKey,
  ) {}
}

export type Path = Array<string | number>;

const te = new TextEncoder();

async function sign(key: SigningKey, input: string): Promise<string> {
  const data = te.encode(input);
  if (key.kind === 'ecdsa') return base64url.encode(new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, data)));
  const k = await crypto.subtle.importKey('raw', new Uint8Array(key.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', k, data)));
}

/** JSON text of a template (Raw verbatim, Signed as a flattened JWS object). */
export async function toText(v: Json): Promise<string> {
  if (v instanceof Raw) return v.text;
  if (v instanceof Signed) {
    const prot = base64url.encode(await toText(v.header));
    const payload = v.payload === '' ? '' : base64url.encode(await toText(v.payload));
    return JSON.stringify({ protected: prot, payload, signature: await sign(v.key, `${prot}.${payload}`) });
  }
  if (Array.isArray(v)) return `[${(await Promise.all(v.map(toText))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const parts = await Promise.all(Object.entries(v).map(async ([k, x]) => `${JSON.stringify(k)}:${await toText(x)}`));
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v);
}

function children(v: Json): Array<[string | number, Json]> {
  if (v instanceof Raw) return [];
  if (v instanceof Signed) return v.payload === '' ? [['header', v.header]] : [['header', v.header], ['payload', v.payload]];
  if (Array.isArray(v)) return v.map((x, i) => [i, x]);
  if (v !== null && typeof v === 'object') return Object.entries(v);
  return [];
}

/** Every member path of a template (JWS header and payload included, the payload root too). */
export function memberPaths(v: Json, prefix: Path = []): Path[] {
  const out: Path[] = [];
  for (const [k, x] of children(v)) {
    out.push([...prefix, k]);
    out.push(...memberPaths(x, [...prefix, k]));
  }
  return out;
}

/** The template with the member at `path` replaced. */
export function replaceAt(v: Json, path: Path, by: Json): Json {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  if (v instanceof Signed) {
    return head === 'header' ? new Signed(replaceAt(v.header, rest, by), v.payload, v.key) : new Signed(v.header, replaceAt(v.payload as Json, rest, by), v.key);
  }
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? replaceAt(x, rest, by) : x));
  if (v !== null && typeof v === 'object' && !(v instanceof Raw)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === head ? replaceAt(x, rest, by) : x]));
  }
  return v;
}

export function valueAt(v: Json, path: Path): Json | undefined {
  let cur: Json | undefined = v;
  for (const k of path) cur = cur === undefined ? undefined : children(cur).find(([c]) => c === k)?.[1];
  return cur;
}

const deep = (open: string, close: string, inner: string, n: number) => open.repeat(n) + inner + close.repeat(n);

/** Values for every member: nesting, huge and odd numbers, every JSON type, odd strings. */
export const FUZZ_VALUES: ReadonlyArray<{ name: string; text: string }> = [
  { name: 'null', text: 'null' },
  { name: 'true', text: 'true' },
  { name: 'false', text: 'false' },
  { name: 'zero', text: '0' },
  { name: 'negative', text: '-1' },
  { name: 'fraction', text: '1.5' },
  { name: 'minus zero', text: '-0' },
  { name: 'overflowing number', text: '1e400' },
  { name: 'huge integer', text: '123456789012345678901234567890123456789' },
  { name: 'empty string', text: '""' },
  { name: 'string', text: '"x"' },
  { name: 'long string', text: JSON.stringify('A'.repeat(20_000)) },
  { name: 'NUL', text: '"\\u0000"' },
  { name: 'lone surrogate', text: '"\\ud800"' },
  { name: 'empty array', text: '[]' },
  { name: 'mixed array', text: '[1,"a",null,{}]' },
  { name: 'empty object', text: '{}' },
  { name: 'proto object', text: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}' },
  { name: 'nested 33 objects', text: deep('{"a":', '}', '1', 33) },
  { name: 'nested 10,000 objects', text: deep('{"a":', '}', '1', 10_000) },
  { name: 'nested 10,000 arrays', text: deep('[', ']', '', 10_000) },
];

/** The JSON type of a fuzz value or template member ("deep": nested beyond the parser's bound). */
export function kindOfText(text: string): string {
  if (/^(\[|\{"a":){33}/.test(text)) return 'deep';
  const parsed: unknown = JSON.parse(text);
  return parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : typeof parsed;
}

export function kindOf(v: Json | undefined): string {
  if (v === undefined) return 'absent';
  if (v instanceof Signed) return 'object';
  if (v instanceof Raw) return kindOfText(v.text);
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
