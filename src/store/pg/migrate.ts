// `nixca db migrate` and the schema check at open. Migrations run in one transaction under an
// advisory lock (two instances upgrading at once serialize; the second finds nothing to do), and
// each applied version is recorded with the SHA-256 of its SQL: a database whose history differs
// from this build's is refused, never repaired.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
import { shellQuotedStoreUrl } from './url.js';

/** pg_advisory_xact_lock key: "nixca" in ASCII, so it is recognisable in pg_locks. */
export const MIGRATE_LOCK = 0x6e69786361;

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  readonly kind = 'conflict';
}

const checksum = (m: Migration) => createHash('sha256').update(m.sql).digest('hex');

interface Applied {
  version: number;
  checksum: string;
}

async function appliedVersions(c: pg.ClientBase): Promise<Applied[] | null> {
  const t = await c.query<{ exists: boolean }>("SELECT to_regclass('nixca_schema') IS NOT NULL AS exists");
  if (!t.rows[0]!.exists) return null;
  const r = await c.query<Applied>('SELECT version, checksum FROM nixca_schema ORDER BY version');
  return r.rows;
}

function checkHistory(applied: readonly Applied[]): void {
  for (const a of applied) {
    const m = MIGRATIONS.find((x) => x.version === a.version);
    if (!m) throw new SchemaError(`the database has schema version ${a.version}, newer than this nixca knows (${SCHEMA_VERSION}): upgrade nixca`);
    if (checksum(m) !== a.checksum) throw new SchemaError(`schema migration ${a.version} (${m.name}) applied to the database differs from this nixca's: refusing to use or change it`);
  }
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: { version: number; name: string }[];
}

/** Applies every missing migration; idempotent. */
export async function migrate(pool: pg.Pool): Promise<MigrateResult> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await c.query(`CREATE TABLE IF NOT EXISTS nixca_schema (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = (await appliedVersions(c))!;
    checkHistory(applied);
    const have = new Set(applied.map((a) => a.version));
    const from = applied.length ? Math.max(...applied.map((a) => a.version)) : 0;
    const done: MigrateResult['applied'] = [];
    for (const m of MIGRATIONS) {
      if (have.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO nixca_schema (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, checksum(m)]);
      done.push({ version: m.version, name: m.name });
    }
    await c.query('COMMIT');
    return { from, to: SCHEMA_VERSION, applied: done };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** At open: the schema must be exactly this build's (else a clear SchemaError saying what to do). */
export async function checkSchema(pool: pg.Pool, display: string): Promise<number> {
  const c = await pool.connect();
  try {
    const applied = await appliedVersions(c);
    if (!applied || applied.length === 0) throw new SchemaError(`the store ${display} has no nixca schema: run \`nixca db migrate --store ${shellQuotedStoreUrl(display)}\` first`);
    checkHistory(applied);
    const version = Math.max(...applied.map((a) => a.version));
    if (version < SCHEMA_VERSION) throw new SchemaError(`the store ${display} has schema version ${version}, this nixca needs ${SCHEMA_VERSION}: run \`nixca db migrate --store ${shellQuotedStoreUrl(display)}\``);
    return version;
  } finally {
    c.release();
  }
}
