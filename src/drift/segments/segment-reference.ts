/**
 * A segment's own reference: the population reference's columns, summarized from the segment's
 * predictions in the reference's time range. A region whose incomes were always higher is then
 * measured against its own past, not flagged for being itself. Only a reference taken from a
 * range has rows to split; an uploaded reference keeps its columns without the rows that tie a
 * region to an income, so its segments are measured against the whole reference.
 *
 * A segment uses its own rows only when they are enough to test against: at least
 * `min_reference_rows` rows (the segments policy), and per column at least that many values; a
 * column with fewer (a feature the segment never sent in the reference range) is measured against
 * the whole reference's column, so it is still tested. Too few rows, or more rows than one read may
 * hold, and the segment is measured against the whole reference.
 */
import type { Database } from '../../platform/clickhouse/index.js';
import type { SegmentSpec } from '../../segments/index.js';
import { planColumns } from '../engine/evaluate.js';
import { referenceFromRaw } from '../engine/in-memory.js';
import { numberCategories } from '../engine/samples.js';
import type { DriftSettings } from '../engine/settings.js';
import type { RawColumn, Reference, ReferenceColumn, WindowColumn } from '../engine/types.js';
import type { VersionKey } from '../store/references.js';
import { readWindows } from '../store/windows.js';
import type { SegmentReferenceUse } from './types.js';

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

/** A segment's rows of the reference range, summarized; or why there are none to use. */
export interface OwnReference {
  /** undefined: the reference is not from a range, the segment had no rows in it, or too many to read. */
  reference: Reference | undefined;
  /** Why the segment's own rows were not read, when that is worth saying (too many). */
  note?: string | undefined;
}

/** Thrown by the window check to stop a read before any value is fetched. */
class TooManyValues extends Error {
  constructor(
    readonly predictions: number,
    readonly values: number,
  ) {
    super('segment reference: too many values');
  }
}

/**
 * The segment's reference read through `db` (a handle restricted to the segment). The read is a
 * window of the reference range, held to the same bound as a viewer's window (`maxWindowValues`,
 * MODELWATCH_DRIFT_MAX_WINDOW_VALUES): above it nothing is read, and the answer says why.
 */
export async function segmentReference(
  db: Database,
  key: VersionKey,
  population: Reference,
  settings: DriftSettings,
  maxWindowValues?: number,
): Promise<OwnReference> {
  if (population.source !== 'range' || population.from === null || population.to === null)
    return { reference: undefined };
  const plans = planColumns(population, settings);
  const columns = Math.max(1, plans.length);
  let sample: { count: number; columns: Map<string, WindowColumn> } | undefined;
  try {
    for await (const window of readWindows(db, {
      key,
      from: population.from,
      to: population.to,
      window: undefined,
      plans,
      checkWindows: (predictions) => {
        if (maxWindowValues === undefined) return;
        const largest = predictions.reduce((max, n) => Math.max(max, n), 0);
        if (largest * columns > maxWindowValues) throw new TooManyValues(largest, largest * columns);
      },
    }))
      sample = window;
  } catch (err) {
    if (!(err instanceof TooManyValues)) throw err;
    return {
      reference: undefined,
      note:
        `measured against the whole reference: the segment's rows of the reference range hold ${err.predictions} predictions × ` +
        `${columns} columns = ${err.values} values, more than the ${maxWindowValues} read at once (MODELWATCH_DRIFT_MAX_WINDOW_VALUES)`,
    };
  }
  if (sample === undefined || sample.count === 0) return { reference: undefined };
  const raws = plans.map((plan) => rawColumn(plan.ref, sample.columns.get(plan.key)));
  return {
    reference: withPopulationKinds(referenceFromRaw({ ...population, rows: sample.count }, raws), population),
  };
}

const sameColumn = (a: ReferenceColumn) => (b: ReferenceColumn) => a.role === b.role && a.column === b.column;

/**
 * A segment's reference with the population's column kinds: a small segment with 20 distinct
 * incomes is still a numerical column, and a segment with more than 20 distinct values of a
 * categorical number column still categorical, its categories counted from its numbers as
 * `summarizeColumn` counts them (else it would have none, and never be measured).
 */
export function withPopulationKinds(segment: Reference, population: Reference): Reference {
  for (const column of segment.columns) {
    const kind = population.columns.find(sameColumn(column))?.kind;
    if (kind === undefined || kind === column.kind) continue;
    column.kind = kind;
    column.categories =
      kind === 'numerical'
        ? new Map<string, number>()
        : numberCategories(column.numerical?.sorted ?? new Float64Array(0));
  }
  return segment;
}

/** Values a reference holds in memory (sorted numbers and categories), for a cache's bound. */
export function referenceValues(reference: Reference | undefined): number {
  let values = 0;
  for (const c of reference?.columns ?? []) values += (c.numerical?.sorted.length ?? 0) + c.categories.size;
  return values;
}

/** What one segment is measured against, for drift and for quality. */
export interface SegmentBaselines {
  /** Drift: per column the segment's own or the whole reference's, without the segmenting feature. */
  drift: Reference;
  /** The requested columns without the segmenting feature (`segmentDriftScope`). */
  columns: readonly string[] | undefined;
  /** What the drift answer says it was measured against (over the columns it answers). */
  reference: SegmentReferenceUse;
  /** `mixed`: the answered columns measured against the whole reference's. */
  populationColumns: string[];
  /**
   * Quality: the whole reference's columns (their ranges and categories are the model's), with
   * the segment's own missing rates when it has enough rows of the reference range.
   */
  quality: Reference;
  qualityReference: 'segment' | 'population';
  note?: string | undefined;
}

/**
 * The segment's baselines from its own reference rows (`own`) and the whole reference: its own
 * with at least `minRows` rows, each drift column its own with at least `minRows` values, the whole
 * reference's otherwise; `columns` the request's (undefined: every column).
 */
export function segmentBaselines(
  spec: SegmentSpec,
  population: Reference,
  own: OwnReference,
  minRows: number,
  columns?: readonly string[],
): SegmentBaselines {
  const mine = own.reference !== undefined && own.reference.rows >= minRows ? own.reference : undefined;
  const note = own.note;
  if (mine === undefined) {
    const scope = segmentDriftScope(spec, population, columns);
    return {
      drift: scope.reference,
      columns: scope.columns,
      reference: 'population',
      populationColumns: [],
      quality: population,
      qualityReference: 'population',
      note,
    };
  }
  const fellBack = new Set<ReferenceColumn>();
  const mixed: Reference = {
    ...mine,
    columns: population.columns.map((whole) => {
      const column = mine.columns.find(sameColumn(whole));
      if (column !== undefined && column.n >= minRows) return column;
      fellBack.add(whole);
      return whole;
    }),
  };
  const scope = segmentDriftScope(spec, mixed, columns);
  const wanted = scope.columns === undefined ? undefined : new Set(scope.columns);
  const answered = scope.reference.columns.filter((c) => wanted === undefined || wanted.has(c.column));
  const whole = answered.filter((c) => fellBack.has(c));
  const reference: SegmentReferenceUse =
    whole.length === 0 ? 'segment' : whole.length === answered.length ? 'population' : 'mixed';
  return {
    drift: scope.reference,
    columns: scope.columns,
    reference,
    populationColumns: reference === 'mixed' ? [...new Set(whole.map((c) => c.column))].sort() : [],
    quality: ownMissingRates(population, mine),
    qualityReference: 'segment',
    note,
  };
}

/**
 * The whole reference with the segment's own value counts: quality's baseline missing rate and
 * whether the column had values (`nulls / rows`, `n > 0`) are then the segment's. A feature the
 * segment never sent is missing throughout its own rows: not news when it is missing now.
 */
function ownMissingRates(population: Reference, own: Reference): Reference {
  return {
    ...population,
    rows: own.rows,
    columns: population.columns.map((whole) => {
      const column = own.columns.find(sameColumn(whole));
      // Every column of the whole reference is read for the segment's; a missing one keeps the whole's rate.
      if (column === undefined) {
        const rate = population.rows > 0 ? whole.nulls / population.rows : 0;
        const nulls = Math.round(rate * own.rows);
        return { ...whole, n: whole.n > 0 ? own.rows - nulls : 0, nulls };
      }
      return { ...whole, n: column.n, nulls: column.nulls };
    }),
  };
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
