/**
 * `sorted` (Vitest's order) with, within each project, the files `seconds` knows first, longest
 * first; the projects' order and that of the other files stay.
 */
export function longestFirst<T extends { project: unknown }>(
  sorted: readonly T[],
  seconds: (spec: T) => number | undefined,
): T[] {
  const position = new Map(sorted.map((spec, index) => [spec, index]));
  return [...sorted].sort((a, b) => {
    const [sa, sb] = [seconds(a), seconds(b)];
    if (a.project !== b.project || (sa === undefined && sb === undefined))
      return (position.get(a) ?? 0) - (position.get(b) ?? 0);
    return (sb ?? -1) - (sa ?? -1);
  });
}
