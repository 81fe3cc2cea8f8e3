// What the ACME store does at open about the state a crash or damage left (docs/acme.md "Crash
// safety"). The rule: appends are sequential and fsync'd before they are acknowledged, so a crash
// can only leave an unterminated last line in a log. That line was never acknowledged: it is
// dropped, its bytes kept in a side file next to the log and reported. Anything else (a complete
// line that does not parse, a record of the wrong shape, a chain reference past the end of
// chains.pem) is refused by the scanners before anything is written: the store never guesses.
import { open, truncate } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { OrderRecord } from '../acme/model.js';
import { syncDir } from './acme-log.js';
import type { WorkingSet } from './acme-working.js';

/** A torn last line found at open. */
export interface TornTail {
  file: string;
  offset: number;
  bytes: Buffer;
}

/** What the open did about a torn tail (for the caller's log). */
export interface StoreRepair {
  file: string;
  /** Where the dropped line started (the file's new size). */
  offset: number;
  droppedBytes: number;
  /** The side file holding the dropped bytes. */
  keptIn: string;
}

/**
 * Keeps the torn bytes in `<file>.torn-<time>` (0600, fsync'd) and only then cuts the log back to
 * its last complete line, so nothing is lost even if the judgement "torn" was wrong.
 */
export async function dropTornTail(t: TornTail, at: Date): Promise<StoreRepair> {
  const keptIn = join(dirname(t.file), `${basename(t.file)}.torn-${at.toISOString().replace(/[:.]/g, '-')}-${t.offset}`);
  const fh = await open(keptIn, 'wx', 0o600);
  try {
    await fh.writeFile(t.bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await truncate(t.file, t.offset);
  const log = await open(t.file, 'r+');
  await log.sync().finally(() => log.close());
  await syncDir(dirname(t.file));
  return { file: t.file, offset: t.offset, droppedBytes: t.bytes.length, keptIn };
}

/**
 * A certificate committed just before a crash makes its order valid: the ledger is the source of
 * truth for issuance, and the order's own update may not have reached the disk. Returns the
 * orders that changed (the writer appends them to the working log).
 */
export function reconcileOrder(set: WorkingSet, cert: { serial: string; orderId: string }, fixed: OrderRecord[]): void {
  const o = set.orders.get(cert.orderId);
  if (o && !o.certificateSerial) {
    const next = { ...o, certificateSerial: cert.serial };
    set.orders.set(o.id, next);
    fixed.push(next);
  }
}
