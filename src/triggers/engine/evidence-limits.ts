/**
 * Bounds on a firing's evidence. Unbounded, a drift run over 1000 drifted columns and many windows
 * made a message larger than the broker takes (`max.message.bytes`, 1 MB by default), which the
 * publisher retried forever while its partition's later triggers waited. The evidence names what
 * fired and counts what it leaves out; the stored windows keep every statistic (the drift route).
 * README.md gives the resulting sizes.
 */

/** Columns listed per window and condition; the others are counted in `columns_omitted`. @default 10 */
export const MAX_EVIDENCE_COLUMNS = 10;
/** Windows listed per run (its latest); the earlier ones are counted in `windows_omitted`. @default 5 */
export const MAX_EVIDENCE_WINDOWS = 5;
/** Segments listed per segment firing; the others are counted in `segments_omitted`. @default 10 */
export const MAX_EVIDENCE_SEGMENTS = 10;

/** `{ [key]: n }` when n > 0, else nothing: evidence that left nothing out keeps its earlier shape. */
export function omitted(key: string, n: number): Record<string, number> {
  return n > 0 ? { [key]: n } : {};
}

/**
 * At most `max` of `items` in their order: when there are more, the `preferred` ones are kept
 * first (a column the policy names before one that only dataset drift brought in).
 */
export function keepColumns<T>(
  items: readonly T[],
  preferred: (item: T) => boolean,
  max = MAX_EVIDENCE_COLUMNS,
): T[] {
  if (items.length <= max) return [...items];
  const kept = new Set([...items.filter(preferred), ...items.filter((i) => !preferred(i))].slice(0, max));
  return items.filter((i) => kept.has(i));
}

/** The latest windows of a run (oldest first), and how many earlier ones were left out. */
export function latestWindows<T>(run: readonly T[]): { windows: T[] } & Record<string, unknown> {
  const windows = run.slice(-MAX_EVIDENCE_WINDOWS);
  return { windows, ...omitted('windows_omitted', run.length - windows.length) };
}
