// "did you mean …?" for a name that is not in the inventory: the known names closest by edit
// distance (optimal string alignment: insert, delete, substitute, swap two neighbours), as
// commander and git do for mistyped commands.

/** Edit distance with adjacent transpositions (nuc-1 → ncu-1 is one edit). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known names nearest to `wanted` (case-insensitive), at most `max` of them, best first: only
 * names within a third of the longer length (at least 1 edit, at most 3), so nothing far-fetched.
 */
export function nearestNames(wanted: string, known: readonly string[], max = 3): string[] {
  const w = wanted.toLowerCase();
  const scored = known
    .map((name) => ({ name, d: editDistance(w, name.toLowerCase()) }))
    .filter(({ name, d }) => d <= Math.min(3, Math.max(1, Math.floor(Math.max(w.length, name.length) / 3))));
  scored.sort((x, y) => x.d - y.d || x.name.localeCompare(y.name));
  return scored.slice(0, max).map((s) => s.name);
}

/** "; did you mean a, b or c?" (empty when nothing is close). */
export function didYouMean(wanted: string, known: readonly string[]): string {
  const near = nearestNames(wanted, known);
  if (near.length === 0) return '';
  const list = near.length === 1 ? near[0]! : `${near.slice(0, -1).join(', ')} or ${near[near.length - 1]!}`;
  return `; did you mean ${list}?`;
}
