// Small helpers over node-postgres: named (server-side prepared) statements, and the mapping of
// constraint violations to the store's conflict error.
import type pg from 'pg';
import { StoreConflictError } from '../../acme/store.js';

export type Queryable = Pick<pg.Pool, 'query'>;

/**
 * A named query: node-postgres prepares it once per connection (Parse/Describe) and afterwards
 * only binds and executes it, so the hot path never re-parses or re-plans SQL.
 */
export function prepared<R extends pg.QueryResultRow>(db: Queryable, name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  return db.query<R>({ name, text, values });
}

/** A unique violation on `constraint` (SQLSTATE 23505), else undefined. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' ? (e.constraint ?? '') : undefined;
}

export function conflict(message: string, existingId?: string): StoreConflictError {
  return new StoreConflictError(message, existingId);
}

/**
 * Optimistic read-modify-write of one JSONB record with a version column: read, apply `fn`, write
 * only if nobody wrote in between (else re-read and re-apply). `fn` is pure, so re-applying it is
 * safe; two round trips in the common case and no row lock held across the network. With `hint`
 * (the row as this instance last saw it) the first attempt skips the read: the write's version
 * check proves the hint current, and a hint on which `fn` changes nothing is read again, so no
 * answer rests on an unchecked copy.
 */
export async function updateVersioned<T>(
  read: () => Promise<{ record: T; version: number } | undefined>,
  write: (next: T, version: number) => Promise<boolean>,
  fn: (cur: T) => T | undefined,
  hint?: { record: T; version: number },
): Promise<{ cur: T; next: T | undefined } | undefined> {
  let row = hint;
  for (let attempt = 0; ; attempt++) {
    const checked = row === undefined;
    if (checked) row = await read();
    if (!row) return undefined;
    const next = fn(row.record);
    if (!next && checked) return { cur: row.record, next: undefined };
    if (next && (await write(next, row.version))) return { cur: row.record, next };
    row = undefined;
    if (attempt >= 50) throw new Error('could not update the record: too many concurrent writers');
  }
}
