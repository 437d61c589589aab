/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row++) {
    const current = [row];
    for (let column = 1; column <= right.length; column++) {
      const substitution = previous[column - 1]! + (left[row - 1] === right[column - 1] ? 0 : 1);
      current[column] = Math.min(previous[column]! + 1, current[column - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[right.length]!;
}

/** The last segment of a scoped name: `acme/fuse-gelu` -> `fuse-gelu`. */
function unscoped(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/**
 * Candidates a user probably meant when typing `name`, closest first: small typos, a different case, or a
 * third-party pass named without its scope.
 */
export function closeNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const wanted = name.toLowerCase();
  const budget = Math.max(2, Math.floor(wanted.length / 3));
  const scored: { candidate: string; score: number }[] = [];
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    const distance = Math.min(editDistance(wanted, lower), editDistance(unscoped(wanted), unscoped(lower)) + 1);
    if (distance <= budget) scored.push({ candidate, score: distance });
  }
  scored.sort((left, right) => left.score - right.score || left.candidate.localeCompare(right.candidate));
  return scored.slice(0, limit).map((entry) => entry.candidate);
}

/** ` Did you mean 'a' or 'b'?` or an empty string. */
export function didYouMean(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return '';
  const quoted = suggestions.map((suggestion) => `'${suggestion}'`);
  const last = quoted.pop()!;
  return `Did you mean ${quoted.length > 0 ? `${quoted.join(', ')} or ${last}` : last}?`;
}
