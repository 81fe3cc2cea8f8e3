// The dashboard's stylesheet, served as /assets/dashboard.css (CSP style-src 'self': no inline
// style anywhere, SVG colours come from classes here). Colours keep WCAG AA contrast on white.
export const DASHBOARD_CSS = `
:root { --fg: #1b1f24; --muted: #505a66; --line: #d0d7de; --bg-alt: #f4f6f8; --err: #a40e26; --err-bg: #ffe3e6;
  --warn: #7a4a00; --warn-bg: #fff1cc; --ok: #116329; --ok-bg: #dafbe1; --info: #0a4a8f; --info-bg: #ddeeff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; color: var(--fg); background: #fff; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 0 2rem; padding: .5rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--bg-alt); }
.brand { font-weight: 700; margin: .3rem 0; } .brand span { font-weight: 400; color: var(--muted); }
nav ul { list-style: none; display: flex; gap: 1rem; margin: 0; padding: 0; }
nav a { color: var(--info); text-decoration: none; padding: .2rem .1rem; }
nav a[aria-current="page"] { font-weight: 700; border-bottom: 2px solid var(--info); }
.who { margin-left: auto; color: var(--muted); }
main { padding: .5rem 1.5rem 1.5rem; }
h1 { font-size: 1.4rem; margin: .6rem 0 .2rem; } h2 { font-size: 1.15rem; margin: 1.2rem 0 .4rem; }
.status-line { display: flex; flex-wrap: wrap; gap: 1rem; color: var(--muted); margin: .2rem 0 .8rem; }
footer { padding: .5rem 1.5rem; color: var(--muted); border-top: 1px solid var(--line); }
footer a, main a { color: var(--info); }
.scroll { overflow-x: auto; }
.scroll:focus-visible { outline: 2px solid var(--info); }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding: .2rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--bg-alt); font-weight: 600; }
tbody th { font-weight: 600; }
small, .muted { color: var(--muted); }
time { white-space: nowrap; }
code { font: 12.5px/1.3 "DejaVu Sans Mono", monospace; }
tr.sev-2 > th { border-left: 4px solid var(--err); }
tr.sev-1 > th { border-left: 4px solid #b77900; }
tr.revoked { background: var(--err-bg); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .6rem; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge-error { color: var(--err); background: var(--err-bg); border: 1px solid var(--err); }
.badge-warning { color: var(--warn); background: var(--warn-bg); border: 1px solid #b77900; }
.badge-ok { color: var(--ok); background: var(--ok-bg); border: 1px solid var(--ok); }
.badge-info { color: var(--info); background: var(--info-bg); border: 1px solid var(--info); }
ul.keys, ul.problems { margin: 0; padding-left: 1rem; }
.key-state { font-weight: 600; } .key-active { color: var(--ok); } .key-revoked { color: var(--err); } .key-next { color: var(--info); }
.key-retiring { color: var(--warn); } .key-retired { color: var(--muted); }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: end; margin: .5rem 0; }
.filters label { display: flex; flex-direction: column; font-weight: 600; }
.filters select, .filters button { font: inherit; padding: .2rem .4rem; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.legend { display: flex; gap: .6rem; align-items: center; color: var(--muted); }
.sw { display: inline-block; width: 1.2rem; height: .8rem; border: 1px solid var(--line); }
.sw-life { background: #8cb8e8; } .sw-window { background: #1f5fa8; } .sw-revoked { background: #e8a0aa; } .sw-now { background: var(--err); width: 3px; }
svg.timeline { width: 100%; min-width: 760px; height: auto; font: 11px "DejaVu Sans", sans-serif; }
svg .lane-bg { fill: #fff; } svg .lane:nth-of-type(even) .lane-bg { fill: var(--bg-alt); }
svg .lane-label { fill: var(--fg); font-size: 12px; font-weight: 600; }
svg .tick { stroke: var(--line); stroke-width: 1; } svg .tick-label { fill: var(--muted); }
svg .life { fill: #8cb8e8; stroke: #1f5fa8; stroke-width: .6; }
svg .window { fill: #1f5fa8; }
svg .cert-expired .life { fill: #c9d1d9; stroke: #8c959f; }
svg .cert-revoked .life { fill: #e8a0aa; stroke: var(--err); }
svg .cert-note { fill: #5c0011; font-size: 11px; font-weight: 600; }
svg .now { stroke: var(--err); stroke-width: 2; } svg .now-label { fill: var(--err); font-weight: 700; }
body[data-refresh="failed"] #refresh-state { color: var(--err); font-weight: 600; }
`;
