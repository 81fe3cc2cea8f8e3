// The issuer's log: JSON lines (pino) for journald and collectors, or, on a terminal, one
// readable line per record: "12:00:01 INFO  message key=value …". Same records, same redaction.
import type { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

/** One pino JSON record → one human line (records that are not JSON pass through unchanged). */
export function prettyLine(json: string): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.replace(/\n$/, '');
  }
  const time = typeof r.time === 'number' ? new Date(r.time).toISOString().slice(11, 19) : '';
  const fields = Object.entries(r)
    .filter(([k, v]) => !OMIT.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return [time, LEVELS[r.level as number] ?? String(r.level), r.msg ?? '', ...fields].filter((s) => s !== '').join(' ');
}

/** A pino destination writing pretty lines to `out`. */
export function prettyStream(out: Writable): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(prettyLine(line) + '\n');
    },
  };
}

/** auto: pretty when stdout is a terminal (a person is watching), JSON otherwise (journald, files). */
export function wantsPretty(format: 'auto' | 'pretty' | 'json', isTty: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTty);
}
