// The fleet overview: one row per node, problems first, then the timeline.
import { html, type Html } from '../html.js';
import type { DashboardSnapshot } from '../model.js';
import { nodeSeverity, nodesProblemsFirst } from '../model.js';
import type { ProbeReport } from '../../probe/probe.js';
import type { SigningKeyState } from '../../inventory/model.js';
import { badge, shortSerial, timeLeft, timeTag, when } from './format.js';
import { timelineSvg } from './timeline.js';

const KEY_STATES: readonly SigningKeyState[] = ['next', 'active', 'retiring', 'retired', 'revoked'];

/** What the node really serves, in one word and a detail line: the `status --probe` verdict. */
export function probeCell(p: ProbeReport | undefined, probing: boolean): Html {
  if (!probing) return html`<span class="muted">probes off</span>`;
  if (!p) return html`<span class="muted">not probed yet</span>`;
  if (!p.served) {
    const reason = p.problems[0]?.message ?? 'no TLS';
    return html`${badge('error', p.host ? 'unreachable' : 'not probed')}<br><small>${reason}</small>`;
  }
  const s = p.served;
  const verdicts: Html[] = [];
  if (s.revoked) verdicts.push(badge('error', 'serves revoked'));
  if (s.expired) verdicts.push(badge('error', 'serves expired'));
  if (!s.chainValid && !s.expired) verdicts.push(badge('error', 'chain invalid'));
  if (s.match === 'older' && !s.revoked && !s.expired) verdicts.push(badge('warning', 'stale'));
  if (s.match === 'unknown' || s.match === 'other-node') verdicts.push(badge('error', s.match === 'unknown' ? 'unknown certificate' : 'other node\'s certificate'));
  if (verdicts.length === 0) verdicts.push(badge('ok', 'current, chain ok'));
  const other = p.problems.filter((x) => !x.code.startsWith('served-')).map((x) => html`<br><small>${x.message}</small>`);
  return html`${verdicts} ${shortSerial(s.serial)}${other}`;
}

function ariCell(s: DashboardSnapshot, node: string): Html {
  const a = s.ari[node];
  if (a === null || a === undefined) return html`<span class="muted" title="no certificate issued to this node yet, so no renewalInfo to fetch">no certificate yet</span>`;
  return a.polls ? html`${badge('ok', 'polls ARI')}<br><small>last ${timeTag(a.lastFetchedAt)}</small>` : badge('warning', 'never polled');
}

function keysCell(keys: DashboardSnapshot['nodes'][number]['signingKeys']): Html {
  if (keys.length === 0) return html`<span class="muted">none</span>`;
  return html`<ul class="keys">${KEY_STATES.map((st) => {
    const ks = keys.filter((k) => k.state === st);
    return ks.length ? html`<li><span class="key-state key-${st}">${st}</span> ${ks.map((k, i) => html`${i ? ', ' : ''}<code>${k.name}</code>${k.shared ? ' (shared)' : ''}`)}</li>` : '';
  })}</ul>`;
}

function nodeRow(s: DashboardSnapshot, n: DashboardSnapshot['nodes'][number], now: Date): Html {
  const c = n.certificate;
  const probe = s.probe?.find((p) => p.node === n.name);
  const sev = nodeSeverity(s, n.name);
  const problems = [...n.problems, ...(probe?.problems ?? [])];
  const names = [...n.dnsNames, ...n.dnsSuffixes.map((x) => '*.' + x)];
  return html`<tr class="node sev-${sev}${c?.revoked ? ' revoked' : ''}" data-node="${n.name}">
<th scope="row">${n.name}<br><small>${names.join(' ')}</small></th>
<td>${c ? html`${shortSerial(c.serial)}${c.revoked ? html` ${badge('error', 'REVOKED')}` : ''}<br><small>until ${timeTag(c.notAfter)}</small>` : html`<span class="muted">none issued</span>`}</td>
<td class="time-left"${c ? html` data-not-after="${c.notAfter}"` : ''}>${c ? timeLeft(c.notAfter, now) : '-'}</td>
<td>${c ? html`${when(c.renewalWindow.start)} –<br>${when(c.renewalWindow.end)}${c.renewalWindow.reason !== 'default' ? html` ${badge('warning', c.renewalWindow.reason)}` : ''}` : '-'}</td>
<td>${ariCell(s, n.name)}</td>
<td>${probeCell(probe, s.probe !== null)}</td>
<td>${keysCell(n.signingKeys)}</td>
<td>${problems.length ? html`<ul class="problems">${problems.map((p) => html`<li>${badge(p.severity, p.severity)} ${p.message}</li>`)}</ul>` : badge('ok', 'ok')}</td>
</tr>`;
}

export function overviewBody(s: DashboardSnapshot, now: Date): Html {
  const rows = nodesProblemsFirst(s).map((n) => nodeRow(s, n, now));
  const orphans = s.orphanCertificates.map((o) => html`<li>${shortSerial(o.serial)} of ${o.node ?? 'no node'} (${o.names.join(' ')}) until ${timeTag(o.notAfter)}</li>`);
  return html`<section aria-labelledby="nodes-h">
<h2 id="nodes-h">Nodes</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Nodes table"><table class="overview">
<caption>One row per node, problems first</caption>
<thead><tr><th scope="col">Node</th><th scope="col">Newest certificate</th><th scope="col">Time left</th><th scope="col">ARI window</th><th scope="col">ARI polling</th><th scope="col">Really serves</th><th scope="col">Signing keys</th><th scope="col">Problems</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="8">no nodes (nixca node add NODE --dns NAME)</td></tr>`}</tbody>
</table></div>
${orphans.length ? html`<h3>Valid certificates of nodes no longer in the inventory</h3><ul>${orphans}</ul>` : ''}
</section>
<section aria-labelledby="timeline-h">
<h2 id="timeline-h">Timeline: next 14 days</h2>
<p class="legend"><span class="sw sw-life"></span> certificate lifetime <span class="sw sw-window"></span> ARI renewal window <span class="sw sw-revoked"></span> revoked <span class="sw sw-now"></span> now</p>
<div class="scroll" tabindex="0" role="region" aria-label="Timeline">${timelineSvg(s, now)}</div>
</section>`;
}
