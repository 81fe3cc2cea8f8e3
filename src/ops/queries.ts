// What is there: issued certificates and ACME accounts, for `cert list/show` and `account
// list/show` (and the dashboard). Read-only; works on a read-only store next to a running issuer.
import { normalizeSerial } from '../ca/serial.js';
import type { AccountRecord, CertificateRecord } from '../acme/model.js';
import { REVOCATION_REASONS } from '../acme/revocation.js';
import type { AcmeStore } from '../acme/store.js';
import { nodeBindingBroken } from '../acme/accounts.js';
import type { InventoryData } from '../inventory/model.js';
import type { AriPoll, AriPollData } from '../status/ari-polls.js';
import { OpsError } from './types.js';

export type CertificateStatus = 'valid' | 'expired' | 'revoked';

export interface CertificateView {
  serial: string;
  node: string | null;
  names: string[];
  accountId: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  status: CertificateStatus;
  revocation: { reason: string; reasonCode: number; revokedAt: string; by: string } | null;
  replaces: string | null;
  /** The last renewalInfo (RFC 9773) fetch for this certificate, if any was seen. */
  ari: Pick<AriPoll, 'firstAt' | 'lastAt' | 'count' | 'userAgent' | 'accountId'> | null;
}

export interface CertificateFilter {
  node?: string;
  status?: CertificateStatus;
  /** Only certificates still valid that expire within this many milliseconds of now. */
  expiringWithinMs?: number;
}

async function view(store: AcmeStore, c: CertificateRecord, now: Date, polls: AriPollData): Promise<CertificateView> {
  const rev = await store.getRevocation(c.serial);
  const p = polls.certificates[c.serial];
  return {
    serial: c.serial,
    node: c.node,
    names: c.names,
    accountId: c.accountId,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    issuedAt: c.issuedAt,
    status: rev ? 'revoked' : Date.parse(c.notAfter) <= now.getTime() ? 'expired' : 'valid',
    revocation: rev ? { reason: REVOCATION_REASONS[rev.reason] ?? String(rev.reason), reasonCode: rev.reason, revokedAt: rev.revokedAt, by: rev.by } : null,
    replaces: c.replaces ?? null,
    ari: p ? { firstAt: p.firstAt, lastAt: p.lastAt, count: p.count, userAgent: p.userAgent, accountId: p.accountId } : null,
  };
}

/** Certificates, newest first, filtered. */
export async function listCertificates(store: AcmeStore, filter: CertificateFilter, now: Date, polls: AriPollData): Promise<CertificateView[]> {
  const records = await store.listCertificates(filter.node !== undefined ? { node: filter.node } : {});
  const out: CertificateView[] = [];
  for (const c of records) {
    const v = await view(store, c, now, polls);
    if (filter.status && v.status !== filter.status) continue;
    if (filter.expiringWithinMs !== undefined && (v.status !== 'valid' || Date.parse(v.notAfter) - now.getTime() > filter.expiringWithinMs)) continue;
    out.push(v);
  }
  return out.sort((a, b) => b.issuedAt.localeCompare(a.issuedAt) || a.serial.localeCompare(b.serial));
}

export async function showCertificate(store: AcmeStore, serialText: string, now: Date, polls: AriPollData): Promise<CertificateView & { chainPem: string | null }> {
  const serial = normalizeSerial(serialText);
  if (!serial) throw new OpsError('usage', `not a hex serial: ${JSON.stringify(serialText)}`);
  const c = await store.getCertificate(serial);
  if (!c) throw new OpsError('not-found', `no certificate with serial ${serial} was issued here`);
  return { ...(await view(store, c, now, polls)), chainPem: (await store.getCertificateChain(serial)) ?? null };
}

export interface AccountView {
  id: string;
  status: AccountRecord['status'];
  /** Whether the account may act now: valid and still bound to its node's current identity. */
  usable: boolean;
  refusedBecause: string | null;
  node: string | null;
  nodeId: string | null;
  eabKeyId: string | null;
  contact: string[];
  thumbprint: string;
  createdAt: string;
  updatedAt: string;
}

export function accountView(a: AccountRecord, inventory: InventoryData): AccountView {
  const broken = a.status === 'valid' ? nodeBindingBroken(a, inventory) : `the account is ${a.status}`;
  return {
    id: a.id,
    status: a.status,
    usable: broken === null,
    refusedBecause: broken,
    node: a.node,
    nodeId: a.nodeId ?? null,
    eabKeyId: a.eabKeyId,
    contact: a.contact,
    thumbprint: a.thumbprint,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

export async function listAccounts(store: AcmeStore, inventory: InventoryData, filter: { node?: string; status?: AccountRecord['status'] }): Promise<AccountView[]> {
  const all = await store.listAccounts(filter.node !== undefined ? { node: filter.node } : {});
  return all.filter((a) => !filter.status || a.status === filter.status).map((a) => accountView(a, inventory));
}

export async function showAccount(store: AcmeStore, inventory: InventoryData, id: string): Promise<AccountView & { certificates: number }> {
  const a = await store.getAccount(id);
  if (!a) throw new OpsError('not-found', `no account ${JSON.stringify(id)}`);
  return { ...accountView(a, inventory), certificates: (await store.listCertificates({ accountId: id })).length };
}
