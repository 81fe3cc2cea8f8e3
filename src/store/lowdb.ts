// The only lowdb code. lowdb's JSONFile writes through steno (write a temp file, then rename):
// a crash at any moment leaves either the old or the new document, never half of one. A document
// that does not parse was therefore damaged outside nixca: it is refused, never replaced.
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';

export interface JsonDocument<T> {
  readonly data: T;
  /** Re-reads the file (another process may have written it). */
  read(): Promise<void>;
  /** Persists `data` atomically. */
  write(): Promise<void>;
}

/** A JSON document of the state directory that does not parse. */
export class JsonDocumentCorruptError extends Error {
  override readonly name = 'JsonDocumentCorruptError';
  readonly kind = 'io';
  constructor(readonly file: string, readonly detail: string) {
    super(`${file} is not valid JSON (${detail}); nothing was changed; stop here, keep a copy of it, and restore it from a backup or repair it by hand`);
  }
}

async function readChecked(db: Low<unknown>, file: string): Promise<void> {
  try {
    await db.read();
  } catch (err) {
    if (err instanceof SyntaxError) throw new JsonDocumentCorruptError(file, err.message);
    throw err;
  }
}

export async function openJsonDocument<T>(file: string, defaultData: T): Promise<JsonDocument<T>> {
  const db = new Low<T>(new JSONFile<T>(file), defaultData);
  await readChecked(db as Low<unknown>, file);
  return {
    get data() {
      return db.data;
    },
    read: () => readChecked(db as Low<unknown>, file),
    write: () => db.write(),
  };
}
