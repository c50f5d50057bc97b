/** Edit distance between two strings (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name closest to `input`, when it is close enough to be a likely typo: a different case,
 * or at most a third of its letters changed.
 */
export function closest(input: string, known: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(input.length, 3) / 3));
  return bestDistance <= limit ? best : undefined;
}

/** `; did you mean "replicas"?`, or empty when no known name is close. */
export function didYouMean(input: string, known: readonly string[]): string {
  const match = closest(input, known);
  return match === undefined ? "" : `; did you mean ${JSON.stringify(match)}?`;
}

/** {@link didYouMean}, or for a short list the allowed names; empty when neither helps. */
export function hint(input: string, known: readonly string[]): string {
  const suggestion = didYouMean(input, known);
  if (suggestion !== "") return suggestion;
  if (known.length > 0 && known.length <= 8) return `; allowed: ${known.join(", ")}`;
  return "";
}
