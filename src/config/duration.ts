// The one duration grammar of every flag and configuration key: whole numbers with a unit,
// largest unit first, each unit at most once: 1y, 30d, 12h, 90m, 45s, 500ms, 1d12h, 2h30m.
// A bare number is refused: "--validity 30" once meant days and "--min-overlap 30" seconds.
import { ConfigError } from './errors.js';

const UNITS = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

export const DURATION_GRAMMAR = 'a duration: a whole number with a unit (y=365d, w, d, h, m, s, ms), largest unit first, e.g. 1y, 30d, 12h, 90m, 45s, 1d12h, 0s';

const TOKEN = /(\d+)(ms|y|w|d|h|m|s)/y;

/** Parses `text` as a duration in milliseconds; `what` names the flag or key in the error. */
export function parseDuration(what: string, text: string, opts: { allowZero?: boolean } = {}): number {
  const s = text.trim();
  let ms = 0;
  let lastRank = -1;
  TOKEN.lastIndex = 0;
  while (s && TOKEN.lastIndex < s.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(s);
    const rank = m ? UNITS.findIndex(([u]) => u === m[2]) : -1;
    if (!m || m.index !== at || rank <= lastRank) return invalid(what, text);
    lastRank = rank;
    ms += Number(m[1]) * UNITS[rank]![1];
  }
  if (lastRank < 0 || !Number.isSafeInteger(ms)) return invalid(what, text);
  if (ms === 0 && !opts.allowZero) throw new ConfigError('CONFIG_INVALID', `${what} must be longer than 0, got ${JSON.stringify(text)}`);
  return ms;
}

function invalid(what: string, text: string): never {
  const hint = /^\s*\d+\s*$/.test(text) ? ' (a bare number has no unit)' : '';
  throw new ConfigError('CONFIG_INVALID', `${what} must be ${DURATION_GRAMMAR}; got ${JSON.stringify(text)}${hint}`);
}

/** A duration that must be a whole number of `unit` (certificate validity in days, Nix's seconds). */
export function parseWholeDuration(what: string, text: string, unit: 'd' | 's'): number {
  const ms = parseDuration(what, text);
  const size = unit === 'd' ? 86_400_000 : 1000;
  if (ms % size !== 0) throw new ConfigError('CONFIG_INVALID', `${what} must be whole ${unit === 'd' ? 'days' : 'seconds'}, got ${JSON.stringify(text)}`);
  return ms / size;
}

/** The canonical text of a duration (what --print-config shows): 36h → "1d12h". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  // Weeks and years are input conveniences; output stays in d/h/m/s/ms so it reads unambiguously.
  for (const [u, size] of UNITS.slice(2)) {
    const n = Math.floor(rest / size);
    if (n) out += `${n}${u}`;
    rest -= n * size;
  }
  return out;
}
