/**
 * A segment's own reference: the population reference's columns, summarized from the segment's
 * predictions in the reference's time range. A region whose incomes were always higher is then
 * measured against its own past, not flagged for being itself. Only a reference taken from a
 * range has rows to split; an uploaded reference keeps its columns without the rows that tie a
 * region to an income, so its segments are measured against the whole reference.
 */
import type { Database } from '../../platform/clickhouse/index.js';
import type { SegmentSpec } from '../../segments/index.js';
import { planColumns } from '../engine/evaluate.js';
import { referenceFromRaw } from '../engine/in-memory.js';
import type { DriftSettings } from '../engine/settings.js';
import type { RawColumn, Reference, WindowColumn } from '../engine/types.js';
import type { VersionKey } from '../store/references.js';
import { readWindows } from '../store/windows.js';

/**
 * What the segments of a segmentation measure drift on: for `feature:<name>`, the reference and the
 * requested columns without that feature. Within a value segment it is constant by construction
 * (all `north`), so against the whole reference it always drifted and against the segment's own
 * rows it never did; either way it bent the segment's drift share and dataset drift. In `other`
 * it holds only the values beyond the most frequent, and in none no value at all: left out of
 * every segment alike. The population's answer keeps it.
 */
export function segmentDriftScope(
  spec: SegmentSpec,
  reference: Reference,
  columns: readonly string[] | undefined,
): { reference: Reference; columns: readonly string[] | undefined } {
  if (spec.kind !== 'feature') return { reference, columns };
  const kept = reference.columns.filter((c) => !(c.role === 'feature' && c.column === spec.name));
  return {
    reference: { ...reference, columns: kept },
    // `columns` names columns of any role: a prediction column sharing the feature's name stays.
    columns: columns?.filter((c) => c !== spec.name || kept.some((k) => k.column === c)),
  };
}

/**
 * The segment's reference read through `db` (a handle restricted to the segment), or undefined
 * when the reference is not from a range or the segment had no predictions in it.
 */
export async function segmentReference(
  db: Database,
  key: VersionKey,
  population: Reference,
  settings: DriftSettings,
): Promise<Reference | undefined> {
  if (population.source !== 'range' || population.from === null || population.to === null) return undefined;
  const plans = planColumns(population, settings);
  let sample: { count: number; columns: Map<string, WindowColumn> } | undefined;
  for await (const window of readWindows(db, {
    key,
    from: population.from,
    to: population.to,
    window: undefined,
    plans,
  }))
    sample = window;
  if (sample === undefined || sample.count === 0) return undefined;
  const raws = plans.map((plan) => rawColumn(plan.ref, sample.columns.get(plan.key)));
  const reference = referenceFromRaw({ ...population, rows: sample.count }, raws);
  // The population's kinds: a small segment with 20 distinct incomes is still a numerical column.
  reference.columns.forEach((column, i) => {
    const kind = population.columns.find(
      (c) => c.role === raws[i]!.role && c.column === raws[i]!.column,
    )?.kind;
    if (kind === undefined || kind === column.kind) return;
    column.kind = kind;
    if (kind === 'numerical') column.categories = new Map();
  });
  return reference;
}

/** A window column back in raw form: numbers stay numbers (a categorical number column's categories are its numbers). */
function rawColumn(ref: Reference['columns'][number], window: WindowColumn | undefined): RawColumn {
  const base = { role: ref.role, column: ref.column };
  if (ref.valueType === 'text')
    return { ...base, numbers: new Float64Array(0), texts: new Map(window?.categories) };
  if (window?.sorted) return { ...base, numbers: window.sorted, texts: new Map() };
  const numbers: number[] = [];
  for (const [value, count] of window?.categories ?? []) {
    const n = Number(value);
    // A text in a number column has no place among its numbers (quality counts it as a wrong type).
    if (value.trim() !== '' && Number.isFinite(n)) for (let k = 0; k < count; k++) numbers.push(n);
  }
  return { ...base, numbers: Float64Array.from(numbers).sort(), texts: new Map() };
}
