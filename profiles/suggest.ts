// "Did you mean …?": the closest known name by edit distance (Damerau–Levenshtein, optimal string
// alignment, case-insensitive), offered only when it is close enough to be a likely typo.

export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0]![j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[s.length]![t.length]!;
}

/** The closest candidate within max(1, ⌊len/3⌋) edits, or undefined. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  let bestPrefix = -1;
  const limit = Math.max(1, Math.floor(name.length / 3));
  for (const c of candidates) {
    // The distance is at least the difference in length: skip the table (a 1 MB name is no typo).
    if (Math.abs(name.length - c.length) > limit) continue;
    const dist = editDistance(name, c);
    // On a tie, the candidate sharing the longest start wins ('sfid' → 'sfi', not 'fid').
    const prefix = commonPrefix(name.toLowerCase(), c.toLowerCase());
    if (dist < bestD || (dist === bestD && prefix > bestPrefix)) {
      best = c;
      bestD = dist;
      bestPrefix = prefix;
    }
  }
  return best !== undefined && bestD <= limit && bestD > 0 ? best : best !== undefined && bestD === 0 && best !== name ? best : undefined;
}

/** " (did you mean 'x'?)"-style hint text, or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const c = closest(name, candidates);
  return c === undefined ? undefined : `did you mean '${c}'?`;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
