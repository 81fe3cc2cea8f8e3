// Persistence of the ARI fetch record (src/status/ari-polls.ts) as `acme/ari-polls.json`. Written
// only by the running issuer: fetches are collected in memory and written at most every
// `flushMs` (a client polling renewalInfo must not cost an fsync'd write each time), and on close.
// The record is informational: losing the last few seconds in a crash loses nothing that matters.
import { join } from 'node:path';
import { addAriPoll, emptyAriPolls, pruneAriPolls, type AriPollData } from '../status/ari-polls.js';
import { ACME_DIR } from './acme.js';
import { openJsonDocument } from './lowdb.js';

export const ARI_POLLS_FILE = 'ari-polls.json';

export interface AriPollRecorder {
  record(fetch: { serial: string; node: string | null; accountId: string; userAgent: string | null; at: Date }): void;
  /** The record as it is now (including unwritten fetches). Treat as read-only. */
  read(): AriPollData;
  close(): Promise<void>;
}

function checked(data: AriPollData | undefined): AriPollData {
  return data && data.version === 1 && typeof data.certificates === 'object' && typeof data.nodes === 'object' ? data : emptyAriPolls();
}

/** The record as last written (offline readers: `status`, `renew-now`, `cert show`). */
export async function readAriPolls(stateDir: string): Promise<AriPollData> {
  const doc = await openJsonDocument<AriPollData>(join(stateDir, ACME_DIR, ARI_POLLS_FILE), emptyAriPolls());
  return checked(doc.data);
}

export async function openAriPollRecorder(stateDir: string, opts: { flushMs?: number; now?: () => Date; onError?: (err: Error) => void } = {}): Promise<AriPollRecorder> {
  const doc = await openJsonDocument<AriPollData>(join(stateDir, ACME_DIR, ARI_POLLS_FILE), emptyAriPolls());
  const data = checked(doc.data);
  Object.assign(doc.data, data);
  const flushMs = opts.flushMs ?? 5000;
  const now = opts.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    timer = undefined;
    pruneAriPolls(doc.data, now());
    writing = writing.then(() => doc.write()).catch((err: Error) => opts.onError?.(err));
    return writing;
  };
  return {
    record(fetch) {
      addAriPoll(doc.data, fetch);
      if (!timer) {
        timer = setTimeout(() => void flush(), flushMs);
        timer.unref();
      }
    },
    read: () => doc.data,
    async close() {
      if (timer) {
        clearTimeout(timer);
        await flush();
      }
      await writing;
    },
  };
}
