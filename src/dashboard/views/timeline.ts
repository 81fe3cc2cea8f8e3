// One SVG with a lane per node: each certificate's lifetime as a bar and its ARI renewal window
// (RFC 9773 §4.2) as a darker band inside it, from a day ago to 14 days ahead, with a "now" line.
// A renewal storm shows as windows lined up across lanes; a gap as a lane whose bar ends early.
// Colours come from the stylesheet (classes), never from style attributes (CSP style-src 'self').
import { html, type Html } from '../html.js';
import type { CertificateRow, DashboardSnapshot } from '../model.js';
import { nodesProblemsFirst } from '../model.js';
import { when } from './format.js';

const DAY = 86_400_000;
const BEFORE = 1 * DAY;
const AFTER = 14 * DAY;
const LABEL_W = 170;
const PLOT_W = 780;
const LANE_H = 30;
const TOP = 26;

export function timelineSvg(s: DashboardSnapshot, now: Date): Html {
  const t0 = now.getTime() - BEFORE;
  const t1 = now.getTime() + AFTER;
  const x = (t: number) => LABEL_W + (Math.min(Math.max(t, t0), t1) - t0) * (PLOT_W / (t1 - t0));
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const nodes = nodesProblemsFirst(s);
  const height = TOP + nodes.length * LANE_H + 8;
  const ticks = [];
  for (let d = 0; d <= 15; d++) {
    const t = t0 + d * DAY;
    const day = new Date(t).toISOString().slice(5, 10);
    ticks.push(html`<line class="tick" x1="${r1(x(t))}" y1="${TOP - 4}" x2="${r1(x(t))}" y2="${height - 8}"/>${d % 2 === 0 ? html`<text class="tick-label" x="${r1(x(t))}" y="${TOP - 8}">${day}</text>` : ''}`);
  }
  const inView = new Map<string, CertificateRow[]>();
  for (const c of s.certificates) {
    if (!c.node || Date.parse(c.notAfter) <= t0 || Date.parse(c.notBefore) >= t1) continue;
    inView.set(c.node, [...(inView.get(c.node) ?? []), c]);
  }
  const lanes = nodes.map((n, i) => {
    const y = TOP + i * LANE_H;
    const certs = inView.get(n.name) ?? [];
    return html`<g class="lane" data-node="${n.name}">
<title>${n.name}: ${certs.length} certificate(s) in view</title>
<rect class="lane-bg" x="0" y="${y}" width="${LABEL_W + PLOT_W}" height="${LANE_H - 2}"/>
<text class="lane-label" x="6" y="${y + 19}">${n.name}</text>
${certs.map((c) => certBar(c, y, x, r1))}
</g>`;
  });
  return html`<svg class="timeline" viewBox="0 0 ${LABEL_W + PLOT_W + 10} ${height}" role="img" aria-labelledby="timeline-title" data-from="${new Date(t0).toISOString()}" data-to="${new Date(t1).toISOString()}">
<title id="timeline-title">Certificate lifetimes and renewal windows per node, ${when(new Date(t0).toISOString())} to ${when(new Date(t1).toISOString())}</title>
${ticks}
${lanes}
<line class="now" x1="${r1(x(now.getTime()))}" y1="${TOP - 14}" x2="${r1(x(now.getTime()))}" y2="${height - 4}"/>
<text class="now-label" x="${r1(x(now.getTime()) + 3)}" y="${TOP - 16}">now</text>
</svg>`;
}

function certBar(c: CertificateRow, y: number, x: (t: number) => number, r1: (v: number) => number): Html {
  const a = x(Date.parse(c.notBefore));
  const b = x(Date.parse(c.notAfter));
  const ws = x(Date.parse(c.renewalWindow.start));
  const we = x(Date.parse(c.renewalWindow.end));
  const label = `${c.serial.slice(0, 12)} ${c.state} until ${when(c.notAfter)}; renewal window ${when(c.renewalWindow.start)} – ${when(c.renewalWindow.end)}`;
  return html`<g class="cert cert-${c.state}" data-serial="${c.serial}"><title>${label}</title>
<rect class="life" x="${r1(a)}" y="${y + 6}" width="${r1(Math.max(1, b - a))}" height="${LANE_H - 14}" rx="3"/>
${c.state === 'valid' && we > ws ? html`<rect class="window" x="${r1(ws)}" y="${y + 6}" width="${r1(Math.max(2, we - ws))}" height="${LANE_H - 14}"/>` : ''}
${c.state === 'revoked' ? html`<text class="cert-note" x="${r1(a + 4)}" y="${y + 19}">revoked</text>` : ''}
</g>`;
}
