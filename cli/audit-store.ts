// The shared audit chain as this host appends to it: the audit key of --state, with the
// certificate(s) the intermediate gave it and that intermediate, registered in the database so that
// `nixca audit verify --store` can check this host's entries from anywhere (docs/postgres.md).
import type { SharedAudit, PgAuditChain } from '../src/store/pg/index.js';
import type { x509 } from '../src/ca/x509.js';

/**
 * This host's signer on the shared chain, registered; `intermediates` default to
 * STATE/issuer/intermediate.pem. `certified`: whether the issuer has certified its key yet.
 */
export async function sharedAuditChain(state: string, shared: SharedAudit, intermediates?: readonly x509.X509Certificate[]): Promise<{ chain: PgAuditChain; certified: boolean }> {
  const { auditSignerOf } = await import('../src/audit/certify.js');
  const signer = await auditSignerOf(state, intermediates ?? (await installedIntermediate(state)));
  const chain = await shared.chain(signer);
  await chain.register();
  return { chain, certified: signer.certificates !== '' };
}

async function installedIntermediate(state: string): Promise<x509.X509Certificate[]> {
  const { join } = await import('node:path');
  const { exists } = await import('./files.js');
  const { ISSUER_DIR, ISSUER_FILES } = await import('../src/ceremony/issuer-dir.js');
  const { readCert } = await import('../src/ceremony/certificate-file.js');
  const p = join(state, ISSUER_DIR, ISSUER_FILES.cert);
  return (await exists(p)) ? [await readCert(p, 'intermediate certificate')] : [];
}

/** The shared chain's snapshot (verify, show, head) from a one-shot connection. */
export async function sharedAuditSnapshot(sel: { state: string; url?: string; passwordFile?: string }) {
  const { openSelectedStore } = await import('../src/store/open.js');
  const opened = await openSelectedStore(sel, { listen: false });
  try {
    return await opened.sharedAudit!.snapshot();
  } finally {
    await opened.acme.close();
  }
}

/** The shared chain's entries as `audit show` lists them (a damaged row is counted, not shown). */
export async function sharedAuditRecords(sel: { state: string; url?: string; passwordFile?: string }) {
  const { parseEntryLine, toRecord } = await import('../src/audit/entry.js');
  const snap = await sharedAuditSnapshot(sel);
  const records = [];
  let damagedLines = 0;
  for (const r of snap.rows) {
    const e = parseEntryLine(r.entry);
    if (e) records.push(toRecord(e));
    else damagedLines++;
  }
  return { records, damagedLines, tornBytes: 0 };
}

/** This host's audit key and its certificates, registered on --store's shared chain; the store's display URL. */
export async function registerSharedSigner(sel: { state: string; url?: string; passwordFile?: string }, state: string, intermediate: x509.X509Certificate): Promise<string> {
  const { openSelectedStore } = await import('../src/store/open.js');
  const opened = await openSelectedStore(sel, { listen: false });
  try {
    await sharedAuditChain(state, opened.sharedAudit!, [intermediate]);
    return opened.display;
  } finally {
    await opened.acme.close();
  }
}
