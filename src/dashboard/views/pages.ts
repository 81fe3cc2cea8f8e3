// The other pages: certificates (filtered), signing-key rotation per node, audit and CRL.
import { html, type Html } from '../html.js';
import type { CertificateRow, CertificateState, DashboardSnapshot } from '../model.js';
import type { SigningKeyState } from '../../inventory/model.js';
import { badge, timeLeft, timeTag } from './format.js';

export interface CertificateFilter {
  node: string | null;
  state: CertificateState | null;
  /** Only certificates whose notAfter is within this many days (and not past). */
  expiringDays: number | null;
}

const STATES: readonly CertificateState[] = ['valid', 'expired', 'revoked'];
const EXPIRING = [1, 2, 3, 7, 14] as const;
const MAX_ROWS = 500;

/** Query parameters to a filter; anything unknown is ignored (a filter never fails). */
export function parseCertificateFilter(q: Record<string, unknown>): CertificateFilter {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const state = str(q.status);
  const days = Number(str(q.expiring));
  return {
    node: str(q.node),
    state: state && (STATES as readonly string[]).includes(state) ? (state as CertificateState) : null,
    expiringDays: (EXPIRING as readonly number[]).includes(days) ? days : null,
  };
}

export function filterCertificates(rows: readonly CertificateRow[], f: CertificateFilter, now: Date): CertificateRow[] {
  const limit = f.expiringDays === null ? Infinity : now.getTime() + f.expiringDays * 86_400_000;
  return rows.filter((c) => (!f.node || c.node === f.node) && (!f.state || c.state === f.state) && (f.expiringDays === null || (c.state === 'valid' && Date.parse(c.notAfter) <= limit)));
}

function option(value: string, label: string, selected: boolean): Html {
  return html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
}

export function certificatesBody(s: DashboardSnapshot, f: CertificateFilter, now: Date): Html {
  const rows = filterCertificates(s.certificates, f, now);
  const nodes = [...new Set([...s.nodes.map((n) => n.name), ...s.certificates.flatMap((c) => (c.node ? [c.node] : []))])].sort();
  const stateBadge = (c: CertificateRow) => badge(c.state === 'valid' ? 'ok' : c.state === 'revoked' ? 'error' : 'info', c.state);
  return html`<form class="filters" method="get" action="/certificates">
<label>Node <select name="node">${option('', 'all', !f.node)}${nodes.map((n) => option(n, n, f.node === n))}</select></label>
<label>Status <select name="status">${option('', 'all', !f.state)}${STATES.map((st) => option(st, st, f.state === st))}</select></label>
<label>Expiring within <select name="expiring">${option('', 'any time', f.expiringDays === null)}${EXPIRING.map((d) => option(String(d), `${d} day(s)`, f.expiringDays === d))}</select></label>
<button type="submit">Filter</button>
</form>
<p>${rows.length} of ${s.certificates.length} certificate(s)${rows.length > MAX_ROWS ? `, newest ${MAX_ROWS} shown` : ''}${s.certificatesOmitted ? ` (${s.certificatesOmitted} older ones, expired over 14 days ago, are left out)` : ''}.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Certificates table"><table class="certificates">
<caption>Issued certificates, newest first</caption>
<thead><tr><th scope="col">Serial</th><th scope="col">Node</th><th scope="col">Names</th><th scope="col">Status</th><th scope="col">Issued</th><th scope="col">Not after</th><th scope="col">Time left</th><th scope="col">Renewal window</th></tr></thead>
<tbody>${rows.slice(0, MAX_ROWS).map((c) => html`<tr class="cert-row cert-${c.state}" data-serial="${c.serial}">
<td><code>${c.serial}</code></td><td>${c.node ?? '-'}</td><td>${c.names.join(' ')}</td>
<td>${stateBadge(c)}${c.revokedAt ? html`<br><small>${timeTag(c.revokedAt)}</small>` : ''}</td>
<td>${timeTag(c.issuedAt)}</td><td>${timeTag(c.notAfter)}</td>
<td class="time-left" data-not-after="${c.notAfter}">${timeLeft(c.notAfter, now)}</td>
<td>${timeTag(c.renewalWindow.start)} – ${timeTag(c.renewalWindow.end)}</td></tr>`)}</tbody>
</table></div>`;
}

const ROTATION: readonly SigningKeyState[] = ['next', 'active', 'retiring', 'retired'];

export function keysBody(s: DashboardSnapshot): Html {
  const owners = [...new Set(s.keyRotation.map((k) => k.node ?? ''))].sort();
  if (owners.length === 0) return html`<p>No signing keys in the inventory (nixca key generate NODE --activate).</p>`;
  return html`${owners.map((owner) => {
    const keys = s.keyRotation.filter((k) => (k.node ?? '') === owner);
    return html`<section class="rotation" aria-labelledby="${'keys-' + (owner || 'shared')}">
<h2 id="${'keys-' + (owner || 'shared')}">${owner || 'shared (fleet-wide)'}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="${`Signing keys of ${owner || 'the fleet'}`}"><table>
<caption>Signing-key rotation: next → active → retiring → retired</caption>
<thead><tr><th scope="col">Key</th><th scope="col">State</th>${ROTATION.map((st) => html`<th scope="col">${st}</th>`)}<th scope="col">revoked</th></tr></thead>
<tbody>${keys.map((k) => html`<tr data-key="${k.name}"><th scope="row"><code>${k.name}</code></th><td><span class="key-state key-${k.state}">${k.state}</span></td>${ROTATION.map((st) => html`<td>${timeTag(k.entered[st])}</td>`)}<td>${timeTag(k.entered.revoked)}</td></tr>`)}</tbody>
</table></div></section>`;
  })}`;
}

function detailsText(d: Record<string, unknown>): string {
  // Audit details are facts without secrets by construction (src/audit/log.ts assertNoSecrets).
  const text = Object.entries(d).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}

export function auditBody(s: DashboardSnapshot): Html {
  const v = s.audit.verification;
  const crl = s.crl;
  return html`<section aria-labelledby="crl-h"><h2 id="crl-h">CRL</h2>
${crl ? html`<dl class="facts"><dt>CRL number</dt><dd>${crl.crlNumber ?? '-'}</dd><dt>This update</dt><dd>${timeTag(crl.thisUpdate)}</dd><dt>Next update</dt><dd>${timeTag(crl.nextUpdate)}</dd><dt>Entries</dt><dd>${crl.entries}</dd></dl>` : html`<p>No CRL is served (serve --no-crl, or none signed yet).</p>`}
</section>
<section aria-labelledby="audit-h"><h2 id="audit-h">Audit log</h2>
${v ? html`<p>${v.ok ? badge('ok', 'chain verified') : badge('error', 'chain NOT verified')} ${v.entries} entries checked ${timeTag(v.checkedAt)}; signer ${v.certified ? 'certified' : 'NOT certified'}: ${v.explanation}${v.firstBadSeq !== null ? html`; first bad entry: ${v.firstBadSeq}` : ''}</p>${v.problems.length ? html`<ul class="problems">${v.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}` : html`<p>${s.audit.error ?? 'not verified yet'}</p>`}
<div class="scroll" tabindex="0" role="region" aria-label="Audit entries"><table class="audit">
<caption>The ${s.audit.recent.length} newest of ${s.audit.total} entries, newest first</caption>
<thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Subject</th><th scope="col">Node</th><th scope="col">Details</th></tr></thead>
<tbody>${[...s.audit.recent].reverse().map((e) => html`<tr><td>${e.seq}</td><td>${timeTag(e.time)}</td><td><code>${e.type}</code></td><td>${e.subject}</td><td>${e.node ?? '-'}</td><td><small>${detailsText(e.details)}</small></td></tr>`)}</tbody>
</table></div></section>`;
}
