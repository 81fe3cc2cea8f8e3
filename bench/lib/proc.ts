// CPU and memory of a server process, read from /proc (Linux). CPU is utime+stime of the process
// and every live descendant, plus cutime+cstime (children already reaped): the figure least
// sensitive to a noisy machine, because it counts what the server did, not how long it took.
import { readFileSync, readdirSync } from 'node:fs';

/** Linux USER_HZ: /proc/<pid>/stat times are in these units (10 ms). */
export const CLK_TCK = 100;

interface Stat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number | string): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] = field 3 (state), rest[1] = ppid (field 4), rest[11..14] = utime stime cutime cstime (fields 14..17)
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]) };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by `pid` and all its live descendants (and their reaped children). */
export function cpuSeconds(pid: number): number {
  const stats = new Map<number, Stat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(d);
    if (st) stats.set(Number(d), st);
  }
  const children = new Map<number, number[]>();
  for (const [p, st] of stats) {
    const list = children.get(st.ppid) ?? [];
    list.push(p);
    children.set(st.ppid, list);
  }
  let ticks = 0;
  const seen = new Set<number>();
  const walk = (p: number) => {
    if (seen.has(p)) return;
    seen.add(p);
    const st = stats.get(p);
    if (!st) return;
    ticks += st.ticks;
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return ticks / CLK_TCK;
}

/** Resident set now and its peak (VmHWM) in MiB, or undefined when the process is gone. */
export function memoryMiB(pid: number): { rss: number; peak: number } | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN) / 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Whole-machine CPU ticks (busy, idle) from /proc/stat, to report how loaded the host was. */
export function machineTicks(): { busy: number; idle: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
