// The page frame: navigation, the fleet verdict, and the one external script (same origin). The
// <main> element is what the page script swaps on refresh (it fetches the same URL with
// ?fragment=main), so a refresh never reloads the page, the script or the stylesheet.
import { html, type Html } from '../html.js';
import type { DashboardSnapshot } from '../model.js';
import { badge, timeTag } from './format.js';

export const PAGES = [
  { path: '/', title: 'Fleet' },
  { path: '/certificates', title: 'Certificates' },
  { path: '/keys', title: 'Signing keys' },
  { path: '/audit', title: 'Audit & CRL' },
] as const;

export interface PageContext {
  path: string;
  /** The operator (client certificate CN) on a non-loopback listener; null on loopback. */
  operator: string | null;
  refreshSeconds: number;
}

function verdict(s: DashboardSnapshot): Html {
  const bad = new Set([...s.nodes.filter((n) => n.problems.some((p) => p.severity === 'error')).map((n) => n.name), ...(s.probe ?? []).filter((p) => p.problems.some((x) => x.severity === 'error')).map((p) => p.node)]);
  return s.ok ? badge('ok', 'fleet ok') : badge('error', `problems on ${bad.size} node(s)`);
}

/** The part refreshed in place: everything under <main>. */
export function mainContent(s: DashboardSnapshot, title: string, body: Html): Html {
  return html`<h1>${title}</h1>
<p class="status-line">${verdict(s)} <span>${s.nodes.length} node(s)</span> <span>data from ${timeTag(s.generatedAt)}</span>${s.probedAt ? html` <span>last probe ${timeTag(s.probedAt)}</span>` : html` <span>probes off</span>`}</p>
${body}`;
}

export function page(s: DashboardSnapshot, ctx: PageContext, title: string, body: Html): Html {
  const nav = PAGES.map((p) => html`<li><a href="${p.path}"${p.path === ctx.path ? html` aria-current="page"` : ''}>${p.title}</a></li>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · nixca</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/dashboard.css">
<script type="module" src="/assets/dashboard.js"></script>
</head>
<body data-refresh-seconds="${ctx.refreshSeconds}">
<header>
<p class="brand">nixca <span>fleet dashboard (read-only)</span></p>
<nav aria-label="Dashboard pages"><ul>${nav}</ul></nav>
<p class="who">${ctx.operator ? html`signed in as <strong>${ctx.operator}</strong> (operator certificate)` : 'loopback: no login'}</p>
</header>
<main id="main" aria-live="polite">
${mainContent(s, title, body)}
</main>
<footer><p>Same data as JSON: <a href="/api/status.json">/api/status.json</a>. Refreshes every ${ctx.refreshSeconds} s: <span id="refresh-state">not yet</span>.</p></footer>
</body>
</html>
`;
}
