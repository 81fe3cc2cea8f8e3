// The building blocks of a typed configuration: one Setting per key, which knows its flag, its
// help, its default, how to parse a value from argv (a string) or from a --config file (a JSON
// value), how to show it (--print-config, with secrets redacted) and its JSON Schema.
import { isAbsolute, resolve } from 'node:path';
import { formatDuration, parseDuration } from './duration.js';
import { ConfigError } from './errors.js';

/** Where a raw value came from: a flag (`--listen`) or a key of a file (`config.json: listen`). */
export interface Origin {
  /** How the error names it: `--listen` or `/etc/nixca/serve.json: listen`. */
  what: string;
  /** Relative paths resolve against this directory (cwd for flags, the file's directory for a file). */
  baseDir: string;
}

export interface Setting<T> {
  /** Commander's flag spelling: `--leaf-lifetime <duration>`, `--no-crl`, `--dev`. */
  readonly flag: string;
  readonly help: string;
  readonly default: T;
  /** Repeatable flag (`--resolve a --resolve b`). */
  readonly repeatable?: boolean;
  /** Shown as "<redacted>" by --print-config (or by a redact function, e.g. a URL's password). */
  redact?(v: T): unknown;
  parse(raw: unknown, origin: Origin): T;
  show(v: T): unknown;
  readonly schema: Record<string, unknown>;
}

export type SettingsTable = Record<string, Setting<unknown>>;
export type ConfigOf<S extends SettingsTable> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

const bad = (o: Origin, expected: string, raw: unknown): never => {
  throw new ConfigError('CONFIG_INVALID', `${o.what} must be ${expected}, got ${JSON.stringify(raw)}`);
};

interface Common<T> {
  flag: string;
  help: string;
  default: T;
  redact?: (v: T) => unknown;
}

export function durationSetting<D extends number | undefined>(c: Common<D> & { allowZero?: boolean }): Setting<number | D> {
  return {
    ...c,
    parse: (raw, o) => (typeof raw === 'string' ? parseDuration(o.what, raw, { allowZero: c.allowZero }) : bad(o, 'a duration string such as "7d" or "90s"', raw)),
    show: (v) => (v === undefined ? null : formatDuration(v)),
    schema: { type: 'string', pattern: '^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$', description: c.help },
  };
}

export function portSetting(c: Common<number>): Setting<number> {
  return {
    ...c,
    parse: (raw, o) => {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : bad(o, 'a port number 1-65535', raw);
    },
    show: (v) => v,
    schema: { type: 'integer', minimum: 1, maximum: 65535, description: c.help },
  };
}

/** A positive whole number (a limit or a count). */
export function countSetting(c: Common<number>): Setting<number> {
  return {
    ...c,
    parse: (raw, o) => {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      return Number.isSafeInteger(n) && n >= 1 ? n : bad(o, 'a whole number ≥ 1', raw);
    },
    show: (v) => v,
    schema: { type: 'integer', minimum: 1, description: c.help },
  };
}

export function stringSetting<D extends string | undefined>(c: Omit<Common<D>, 'redact'> & { redact?: (v: string) => unknown; check?: (v: string, o: Origin) => void }): Setting<string | D> {
  return {
    ...c,
    parse: (raw, o) => {
      if (typeof raw !== 'string' || raw === '') return bad(o, 'a non-empty string', raw);
      c.check?.(raw, o);
      return raw;
    },
    show: (v) => v ?? null,
    schema: { type: 'string', description: c.help },
  };
}

/** A file or directory path; relative paths are relative to the cwd (flags) or the config file's directory. */
export function pathSetting<D extends string | undefined>(c: Common<D>): Setting<string | D> {
  return {
    ...c,
    parse: (raw, o) => (typeof raw === 'string' && raw !== '' ? (isAbsolute(raw) ? raw : resolve(o.baseDir, raw)) : bad(o, 'a path', raw)),
    show: (v) => v ?? null,
    schema: { type: 'string', description: c.help },
  };
}

export function enumSetting<const V extends string>(c: Common<V> & { values: readonly V[] }): Setting<V> {
  return {
    ...c,
    parse: (raw, o) => ((c.values as readonly unknown[]).includes(raw) ? (raw as V) : bad(o, `one of ${c.values.join(', ')}`, raw)),
    show: (v) => v,
    schema: { enum: [...c.values], description: c.help },
  };
}

/** `--dev` (default false) or `--no-crl` (default true): the flag's spelling decides. */
export function booleanSetting(c: Omit<Common<boolean>, 'default'>): Setting<boolean> {
  const negated = c.flag.startsWith('--no-');
  return {
    ...c,
    default: negated,
    parse: (raw, o) => (typeof raw === 'boolean' ? raw : bad(o, 'true or false', raw)),
    show: (v) => v,
    schema: { type: 'boolean', description: c.help },
  };
}

export function listSetting(c: Omit<Common<string[]>, 'default'> & { item?: (v: string, o: Origin) => void }): Setting<string[]> {
  return {
    ...c,
    default: [],
    repeatable: true,
    parse: (raw, o) => {
      const items = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? (raw as string[]) : bad(o, 'a list of strings', raw);
      for (const i of items) c.item?.(i, o);
      return items;
    },
    show: (v) => v,
    schema: { type: 'array', items: { type: 'string' }, description: c.help },
  };
}

/**
 * Redacts the password of a URL (a PostgreSQL connection string, a CRL mirror with credentials):
 * the userinfo password and a `password` query parameter (libpq's form). libpq's socket form
 * (`postgres://USER@/DB`) has an empty host WHATWG URL refuses, so the userinfo is also cut by text.
 */
export function redactUrlPassword(v: string): string {
  let out: string;
  try {
    const u = new URL(v);
    if (u.password) u.password = 'redacted';
    out = u.href;
  } catch {
    out = v.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*):[^/]*@/i, '$1:redacted@');
  }
  return out.replace(/([?&]password=)[^&#]*/gi, '$1redacted');
}

/** The settings' key for a flag: `--leaf-lifetime <d>` → leafLifetime, `--no-crl` → crl. */
export function keyOfFlag(flag: string): string {
  const long = flag.split(/[ ,]/).find((p) => p.startsWith('--'))!.slice(2).replace(/^no-/, '');
  return long.replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
}

/** The JSON Schema (draft 2020-12) of a configuration file for `table`. */
export function jsonSchemaOf(table: SettingsTable, title: string): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title,
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      ...Object.fromEntries(Object.entries(table).map(([k, s]) => [k, s.schema])),
    },
  };
}

/**
 * The effective configuration: defaults, then the file's keys, then the flags actually given on
 * the command line (flags override the file). Unknown file keys are refused (a typo must not be
 * silently ignored).
 */
export function resolveConfig<S extends SettingsTable>(
  table: S,
  sources: { file?: { path: string; dir: string; data: unknown }; flags: Record<string, unknown>; cwd: string },
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(table)) out[k] = s.default;
  const file = sources.file;
  if (file) {
    if (typeof file.data !== 'object' || file.data === null || Array.isArray(file.data)) {
      throw new ConfigError('CONFIG_INVALID', `${file.path}: must be a JSON object of settings`);
    }
    for (const [k, raw] of Object.entries(file.data)) {
      if (k === '$schema') continue;
      const s = table[k];
      if (!s) throw new ConfigError('CONFIG_INVALID', `${file.path}: unknown key ${JSON.stringify(k)}${suggest(k, Object.keys(table))}`);
      if (raw !== null) out[k] = s.parse(raw, { what: `${file.path}: ${k}`, baseDir: file.dir });
    }
  }
  for (const [k, raw] of Object.entries(sources.flags)) {
    const s = table[k];
    if (!s || raw === undefined) continue;
    out[k] = s.parse(raw, { what: s.flag.split(' ')[0]!, baseDir: sources.cwd });
  }
  return out as ConfigOf<S>;
}

/** The configuration as --print-config shows it: every key, canonical values, secrets redacted. */
export function showConfig<S extends SettingsTable>(table: S, config: ConfigOf<S>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(table).map(([k, s]) => {
    const v = (config as Record<string, unknown>)[k];
    return [k, v !== undefined && s.redact ? s.redact(v) : s.show(v)];
  }));
}

/** " (did you mean …?)" when one candidate is close to `word`, else "". */
export function suggest(word: string, candidates: readonly string[]): string {
  const best = closest(word, candidates);
  return best ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

/** The candidate within edit distance ⌈len/3⌉ of `word`, if exactly one is closest. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.ceil(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
