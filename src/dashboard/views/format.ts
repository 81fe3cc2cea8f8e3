// Small formatting helpers shared by the views (timeLeft is shared with the page script).
import { html, type Html } from '../html.js';

export { timeLeft } from '../client/time-left.js';

/** ISO 8601 to the minute, in UTC: "2026-12-03 18:40Z" (operators compare these across nodes). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(0, 16).replace('T', ' ') + 'Z';
}

/** A <time> element with the full instant in its datetime attribute. */
export function timeTag(iso: string | null | undefined): Html {
  return iso ? html`<time datetime="${iso}">${when(iso)}</time>` : html`-`;
}

/** Serials are 32 hex digits; the first 12 are enough to tell them apart on screen (title has all). */
export function shortSerial(serial: string): Html {
  return html`<code title="${serial}">${serial.length > 16 ? serial.slice(0, 12) + '…' : serial}</code>`;
}

export function badge(kind: 'error' | 'warning' | 'ok' | 'info', text: string): Html {
  return html`<span class="badge badge-${kind}">${text}</span>`;
}
