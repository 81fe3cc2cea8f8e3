// Operator revocation (RFC 5280 §5.3.1 reasons), beside ACME revokeCert (RFC 8555 §7.6).
import { normalizeSerial } from '../ca/serial.js';
import type { CertificateRecord } from '../acme/model.js';
import { REVOCATION_REASONS } from '../acme/revocation.js';
import type { AcmeStore } from '../acme/store.js';
import type { AuditEvent } from '../audit/log.js';
import { OpsError, type OpResult, type OpsDeps } from './types.js';

export interface RevokedView {
  serial: string;
  node: string | null;
  names: string[];
  notAfter: string;
}

export interface RevokeData {
  reason: string;
  reasonCode: number;
  revokedAt: string;
  revoked: RevokedView[];
}

/** The reason code for a name (case-insensitive), or undefined. */
export function revocationReasonCode(name: string): number | undefined {
  const hit = Object.entries(REVOCATION_REASONS).find(([, n]) => n.toLowerCase() === name.toLowerCase());
  return hit ? Number(hit[0]) : undefined;
}

export function writableStore(deps: OpsDeps, what: string): AcmeStore {
  if (!deps.store) throw new OpsError('not-found', `no ACME store yet: nothing was issued, so there is no ${what}`);
  if (deps.store.readOnly) throw new OpsError('conflict', 'the ACME store is held by a running nixca serve whose admin socket did not answer; retry, or check the issuer');
  return deps.store;
}

async function targetsOf(store: AcmeStore, by: { serial: string } | { node: string }, now: Date): Promise<CertificateRecord[]> {
  if ('serial' in by) {
    const serial = normalizeSerial(by.serial);
    if (!serial) throw new OpsError('usage', `not a hex serial: ${JSON.stringify(by.serial)}`);
    const c = await store.getCertificate(serial);
    if (!c) throw new OpsError('not-found', `no certificate with serial ${serial} was issued here`);
    if (await store.getRevocation(serial)) throw new OpsError('conflict', `certificate ${serial} is already revoked`);
    return [c];
  }
  const out: CertificateRecord[] = [];
  for (const c of await store.listCertificates({ node: by.node, validAt: now })) if (!(await store.getRevocation(c.serial))) out.push(c);
  if (out.length === 0) throw new OpsError('not-found', `node ${by.node} has no unexpired, unrevoked certificate`);
  return out;
}

function revokedAuditEvent(c: RevokedView, reason: number, now: Date): AuditEvent {
  const details = { serial: c.serial, reason: REVOCATION_REASONS[reason], reasonCode: reason, by: 'operator', names: c.names, notAfter: c.notAfter };
  return { type: 'certificate.revoked', subject: c.serial, node: c.node, details, time: now };
}

/**
 * Revokes one certificate or every current one of a node. Each revocation's audit entry is part of
 * its commit (src/acme/store.ts CommitHook), as for ACME revocation: if the entry cannot be written
 * that revocation fails and is not shown (the issuer's start-up recovery audits it, marked
 * recovered), so no revocation is ever visible without its audit entry.
 */
export async function revoke(deps: OpsDeps, by: { serial: string } | { node: string }, reason: number): Promise<OpResult<RevokeData>> {
  const reasonName = REVOCATION_REASONS[reason];
  if (reasonName === undefined) throw new OpsError('usage', `reason must be one of ${Object.values(REVOCATION_REASONS).join(', ')} (RFC 5280 §5.3.1)`);
  const store = writableStore(deps, 'certificate to revoke');
  const now = deps.now();
  const revoked: RevokedView[] = [];
  let failure: unknown;
  try {
    for (const c of await targetsOf(store, by, now)) {
      const view = { serial: c.serial, node: c.node, names: c.names, notAfter: c.notAfter };
      await store.putRevocation({ serial: c.serial, reason, revokedAt: now.toISOString(), by: 'operator' }, async () => {
        try {
          await deps.audit([revokedAuditEvent(view, reason, now)]);
        } catch (err) {
          const done = revoked.length ? ` (already revoked and audited: ${revoked.map((r) => r.serial).join(', ')})` : '';
          throw new OpsError('io', `certificate ${c.serial} was not revoked: the audit log refused its entry: ${(err as Error).message}${done}`);
        }
      });
      revoked.push(view);
    }
  } catch (err) {
    failure = err;
  }
  const warnings: string[] = [];
  if (revoked.length && deps.afterRevocation) await deps.afterRevocation().catch((err: Error) => warnings.push(`the CRL could not be regenerated now (${err.message}); the issuer retries hourly`));
  if (failure) throw failure;
  const crl = {
    issuer: 'the issuer serves a CRL listing it now',
    store: 'the issuer lists it in its CRL when it next starts',
    'shared-store': 'every running issuer on this store publishes it in its CRL within seconds',
  }[deps.appliedBy];
  return {
    op: 'serial' in by ? 'cert.revoke' : 'cert.revoke-node',
    appliedBy: deps.appliedBy,
    summary: revoked.map((c) => `revoked ${c.serial} (${c.node ?? 'no node'}: ${c.names.join(' ')}) reason ${reasonName}`).join('\n') + `\n${crl}`,
    warnings,
    data: { reason: reasonName, reasonCode: reason, revokedAt: now.toISOString(), revoked },
  };
}
