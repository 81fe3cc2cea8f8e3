// Which ACME store an issuer command uses: `--store postgres://…` (or NIXCA_STORE) selects the
// shared PostgreSQL store; without it, the embedded store in the state directory. The state
// directory still holds each issuer host's key material either way.
import type { NoncePeers } from '../acme/nonces.js';
import type { AcmeStore } from '../acme/store.js';
import { mkdir } from 'node:fs/promises';
import { openAcmeStore, type AcmeStoreOptions } from './acme.js';
import { openAriPollRecorder, readAriPolls, type AriPollRecorder } from './ari-polls.js';
import type { AriPollData } from '../status/ari-polls.js';
import { openInventoryStore, type InventoryStore } from './inventory.js';
import type { SharedAudit } from './pg/index.js';
import { isPostgresUrl, redactStoreUrl, StoreConfigError } from './pg/url.js';

export interface StoreSelection {
  /** The issuer's state directory (embedded store: <state>/acme). */
  state: string;
  /** postgres://… for the shared store; absent: embedded. */
  url?: string;
  passwordFile?: string;
}

export interface OpenedStore {
  kind: 'embedded' | 'postgres';
  acme: AcmeStore;
  /** The shared inventory (postgres); absent for the embedded store (inventory.json in --state). */
  inventory?: InventoryStore;
  /** Home-instance nonces (a serving instance of the shared store); absent: nonces in memory. */
  noncePeers?: NoncePeers;
  /** The shared audit chain (postgres); absent for the embedded store (audit/ in --state). */
  sharedAudit?: SharedAudit;
  /** Where the store is, safe to log (a URL without secrets, or the directory). */
  display: string;
  /** The ARI fetch record (readSelectedAriPolls), over this store's own connection. */
  readAriPolls(): Promise<AriPollData>;
}

/**
 * The inventory of the selected store: inventory.json in --state, or the shared database's.
 */
export async function openSelectedInventory(sel: StoreSelection): Promise<InventoryStore> {
  checkStoreSelection(sel);
  if (sel.url === undefined) {
    await mkdir(sel.state, { recursive: true, mode: 0o700 });
    return openInventoryStore(sel.state);
  }
  const { openPgStore } = await import('./pg/index.js');
  return (await openPgStore({ url: sel.url, passwordFile: sel.passwordFile }, { listen: false })).inventory;
}

export function checkStoreSelection(sel: Pick<StoreSelection, 'url' | 'passwordFile'>): void {
  if (sel.url !== undefined && !isPostgresUrl(sel.url)) throw new StoreConfigError(`--store must be a postgres:// URL (absent: the embedded store in --state), got ${JSON.stringify(redactStoreUrl(sel.url))}`);
  if (sel.passwordFile !== undefined && sel.url === undefined) throw new StoreConfigError('--store-password-file needs --store postgres://…');
}

/**
 * `nonces`: the process serves ACME (nixca serve): on the shared store it gets its nonce peers.
 * Other commands never read or create the shared nonce key.
 */
export async function openSelectedStore(sel: StoreSelection, opts: AcmeStoreOptions & { log?: (msg: string, err?: Error) => void; listen?: boolean; nonces?: boolean } = {}): Promise<OpenedStore> {
  checkStoreSelection(sel);
  if (sel.url === undefined) {
    return { kind: 'embedded', acme: await openAcmeStore(sel.state, opts), display: sel.state, readAriPolls: () => readAriPolls(sel.state) };
  }
  // Loaded only here: the embedded store's processes (the issuer too) never load node-postgres.
  const { openPgStore } = await import('./pg/index.js');
  const s = await openPgStore({ url: sel.url, passwordFile: sel.passwordFile }, { now: opts.now, workingSetGraceMs: opts.workingSetGraceMs, log: opts.log, listen: opts.listen, nonces: opts.nonces ?? false });
  const { readSharedAriPolls } = await import('./pg/ari-polls.js');
  return { kind: 'postgres', acme: s.acme, inventory: s.inventory, ...(s.noncePeers ? { noncePeers: s.noncePeers } : {}), sharedAudit: s.audit, display: s.pool.display, readAriPolls: () => readSharedAriPolls(s.pool.pool) };
}

/**
 * The ARI fetch record as commands read it: acme/ari-polls.json in --state, or, on the shared
 * store, what every instance recorded (a client may poll any of them).
 */
export async function readSelectedAriPolls(sel: StoreSelection): Promise<AriPollData> {
  checkStoreSelection(sel);
  if (sel.url === undefined) return readAriPolls(sel.state);
  const { readSharedAriPollsOnce } = await import('./pg/ari-polls.js');
  return readSharedAriPollsOnce({ url: sel.url, passwordFile: sel.passwordFile });
}

/** The serving instance's ARI fetch recorder for the selected store. */
export async function openSelectedAriPollRecorder(sel: StoreSelection, opts: { onError?: (err: Error) => void } = {}): Promise<AriPollRecorder> {
  checkStoreSelection(sel);
  if (sel.url === undefined) return openAriPollRecorder(sel.state, opts);
  const { openSharedAriPollRecorder } = await import('./pg/ari-polls.js');
  return openSharedAriPollRecorder({ url: sel.url, passwordFile: sel.passwordFile }, opts);
}
