// The page script (served as /assets/dashboard.js, same origin, no inline script): keeps the page
// current without reloading it. Every few seconds it reads the dashboard's JSON; when the data
// changed it fetches the same page's <main> (rendered and escaped by the server, ?fragment=main)
// and swaps it in. Between refreshes it keeps the "time left" cells ticking. Without JavaScript
// the pages are complete; they just do not update themselves.
import { timeLeft } from './time-left.js';

const main = document.getElementById('main');
const seconds = Math.max(2, Number(document.body.dataset.refreshSeconds) || 15);
let lastData: string | null = null;

function tickTimeLeft(): void {
  const now = new Date();
  document.querySelectorAll<HTMLElement>('[data-not-after]').forEach((el) => {
    const na = el.dataset.notAfter;
    if (na) el.textContent = timeLeft(na, now);
  });
}

function setState(text: string, failed: boolean): void {
  document.body.dataset.refresh = failed ? 'failed' : 'ok';
  const el = document.getElementById('refresh-state');
  if (el) el.textContent = text;
}

async function refresh(): Promise<void> {
  try {
    const r = await fetch('/api/status.json', { cache: 'no-store', credentials: 'same-origin' });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const data = (await r.json()) as Record<string, unknown>;
    // generatedAt changes with every snapshot; everything else changes only when the fleet does.
    const key = JSON.stringify({ ...data, generatedAt: null });
    const changed = lastData !== null && key !== lastData;
    lastData = key;
    // Never pull the page from under someone choosing a filter.
    const busy = main?.contains(document.activeElement) && document.activeElement !== document.body;
    if (changed && main && !busy) {
      const url = new URL(location.href);
      url.searchParams.set('fragment', 'main');
      const f = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
      if (!f.ok) throw new Error(`HTTP ${f.status}`);
      main.innerHTML = await f.text();
    }
    tickTimeLeft();
    setState(`updated ${new Date().toISOString().slice(11, 19)}Z`, false);
  } catch (err) {
    setState(`refresh failed (${(err as Error).message}); retrying`, true);
  }
}

void refresh();
setInterval(() => void refresh(), seconds * 1000);
