// The only lowdb code. lowdb's JSONFile writes through steno (write a temp file, then rename):
// a crash at any moment leaves either the old or the new document, never half of one.
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';

export interface JsonDocument<T> {
  readonly data: T;
  /** Re-reads the file (another process may have written it). */
  read(): Promise<void>;
  /** Persists `data` atomically. */
  write(): Promise<void>;
}

export async function openJsonDocument<T>(file: string, defaultData: T): Promise<JsonDocument<T>> {
  const db = new Low<T>(new JSONFile<T>(file), defaultData);
  await db.read();
  return {
    get data() {
      return db.data;
    },
    read: () => db.read(),
    write: () => db.write(),
  };
}
