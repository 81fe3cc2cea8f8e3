// "3d 4h", "5h 12m", "40m", "expired 2h 5m ago": the two largest units, never rounded up. One
// module for the server's views and the page script (served as /assets/time-left.js), so a cell
// the script updates reads exactly as the server rendered it.
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export function timeLeft(notAfter: string, now: Date): string {
  const ms = new Date(notAfter).getTime() - now.getTime();
  const abs = Math.abs(ms);
  const d = Math.floor(abs / DAY);
  const h = Math.floor((abs % DAY) / HOUR);
  const m = Math.floor((abs % HOUR) / MIN);
  const text = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`;
  return ms <= 0 ? `expired ${text} ago` : text;
}
