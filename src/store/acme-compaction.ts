// Compaction of acme/working.jsonl: every version of an order or authorization is appended, so the
// log is rewritten from the live records in memory (temp file, fsync, rename, fsync dir: a crash
// leaves the old or the new file) once dead versions outnumber live ones. The cost of a rewrite is
// bounded by the working set, never by history.
import type { AppendLog } from './acme-log.js';
import type { WorkingSet } from './acme-working.js';

/** Compaction bookkeeping kept in acme/meta.json. */
export interface CompactionMeta {
  data: { compactions: number; lastCompactionAt: string | null };
  write(): Promise<void>;
}

/** Rewrite when the log holds more than twice the live versions plus a fixed slack. */
export function needsCompaction(lines: number, live: number): boolean {
  return lines >= 2 * live + 1000;
}

export class Compactor {
  #running: Promise<void> | undefined;

  constructor(
    readonly set: WorkingSet,
    readonly log: AppendLog,
    readonly meta: CompactionMeta,
    readonly now: () => Date,
    readonly enabled: boolean,
  ) {}

  /** Compacts if the log needs it and no compaction is running (one at a time). */
  async maybe(): Promise<void> {
    if (!this.enabled || this.#running || !needsCompaction(this.set.lines, this.set.orders.size + this.set.authzs.size)) return;
    this.#running = this.#compact().finally(() => (this.#running = undefined));
    await this.#running;
  }

  async #compact(): Promise<void> {
    const lines = this.set.snapshotLines();
    await this.log.rewrite(lines);
    this.set.lines = lines.length;
    this.meta.data.compactions++;
    this.meta.data.lastCompactionAt = this.now().toISOString();
    await this.meta.write();
  }

  /** Waits for a running compaction (close). */
  async idle(): Promise<void> {
    if (this.#running) await this.#running;
  }
}
