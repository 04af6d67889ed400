/** Which segments a request gets: the most frequent values, then `other` and the predictions without a value. */
import { isQueryMemoryLimit, type Database } from '../platform/clickhouse/index.js';
import { SegmentError } from './errors.js';
import { formatSegment, type SegmentSpec } from './spec.js';
import {
  DEFAULT_SEGMENT_MAX_MEMORY_BYTES,
  missingFilter,
  otherFilter,
  topValuesQuery,
  totalsQuery,
  valueFilter,
  type SegmentFilter,
} from './sql.js';

export interface SegmentScope {
  model: string;
  versions: readonly string[];
  /** Epoch ms, [from, to). */
  from: number;
  to: number;
}

export interface ResolveOptions {
  /**
   * Bytes each segment read (totals, top values) may take in the engine; more is a 400 naming
   * `querystring/segment` (too many distinct values). @default DEFAULT_SEGMENT_MAX_MEMORY_BYTES
   */
  maxMemoryBytes?: number | undefined;
}

export interface Segment {
  /** The feature's or tag's value; null for `other` and for predictions without one. */
  value: string | null;
  /** The values beyond the `maxSegments` most frequent, together. */
  other: boolean;
  /** Predictions in scope. */
  predictions: number;
  filter: SegmentFilter;
}

/**
 * The `maxSegments` most frequent values in scope (ties by value), each a segment; the rest
 * together as `other`; predictions without the feature or tag as a segment of value null (not
 * other). A feature or tag that no prediction in scope has is a 400: most likely a typo.
 */
export async function resolveSegments(
  db: Database,
  spec: SegmentSpec,
  scope: SegmentScope,
  maxSegments: number,
  options: ResolveOptions & {
    /**
     * When no prediction has the feature or tag, answer with the one segment without a value
     * instead of refusing (the evaluation loop: a window is what it is, not a typo). @default false
     */
    absentIsSegment?: boolean;
  } = {},
): Promise<Segment[]> {
  const params = { ...scopeParams(spec, scope), seg_limit: maxSegments };
  const { total, missing } = await totals(db, spec, scope, options);
  if (total === 0) return [];
  if (missing === total && options.absentIsSegment === true)
    return [{ value: null, other: false, predictions: missing, filter: missingFilter(spec) }];
  if (missing === total) throw absent(spec, scope);
  const top = await rows<{ v: string; n: number | string }>(
    db,
    topValuesQuery(spec, maxMemory(options)),
    params,
    maxMemory(options),
  );
  const segments: Segment[] = top.map((r) => ({
    value: r.v,
    other: false,
    predictions: Number(r.n),
    filter: valueFilter(spec, r.v),
  }));
  const rest = total - missing - segments.reduce((s, x) => s + x.predictions, 0);
  if (rest > 0)
    segments.push({
      value: null,
      other: true,
      predictions: rest,
      filter: otherFilter(
        spec,
        top.map((r) => r.v),
      ),
    });
  if (missing > 0)
    segments.push({ value: null, other: false, predictions: missing, filter: missingFilter(spec) });
  return segments;
}

/**
 * Refuses (400, as `resolveSegments` does) a feature or tag that no prediction in scope has (most
 * likely a typo); a scope without predictions has nothing to check against and passes.
 */
export async function requireSegmentInScope(
  db: Database,
  spec: SegmentSpec,
  scope: SegmentScope,
  options: ResolveOptions = {},
): Promise<void> {
  const { total, missing } = await totals(db, spec, scope, options);
  if (total > 0 && missing === total) throw absent(spec, scope);
}

function scopeParams(spec: SegmentSpec, scope: SegmentScope): Record<string, unknown> {
  return {
    seg_name: spec.name,
    seg_model: scope.model,
    seg_versions: scope.versions,
    seg_from: scope.from,
    seg_to: scope.to,
  };
}

/** Predictions in scope, and how many of them have no value. */
async function totals(
  db: Database,
  spec: SegmentSpec,
  scope: SegmentScope,
  options: ResolveOptions,
): Promise<{ total: number; missing: number }> {
  const [row] = await rows<{ total: number | string; missing: number | string }>(
    db,
    totalsQuery(spec, maxMemory(options)),
    scopeParams(spec, scope),
    maxMemory(options),
  );
  return { total: Number(row?.total ?? 0), missing: Number(row?.missing ?? 0) };
}

function absent(spec: SegmentSpec, scope: SegmentScope): SegmentError {
  return new SegmentError(
    'UNKNOWN_SEGMENT',
    `querystring/segment: no prediction of model '${scope.model}' in [${new Date(scope.from).toISOString()}, ${new Date(scope.to).toISOString()}) has the ${spec.kind} '${short(spec.name)}' (${formatSegment(spec).length > 80 ? 'name shortened' : 'check the name'})`,
  );
}

const bytes = (n: number) => (n >= 1024 ** 2 ? `${Number((n / 1024 ** 2).toFixed(2))} MiB` : `${n} bytes`);

const maxMemory = (options: ResolveOptions) => options.maxMemoryBytes ?? DEFAULT_SEGMENT_MAX_MEMORY_BYTES;

async function rows<T>(
  db: Database,
  query: string,
  params: Record<string, unknown>,
  maxMemoryBytes: number,
): Promise<T[]> {
  try {
    const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return await result.json<T>();
  } catch (err) {
    if (isQueryMemoryLimit(err))
      throw new SegmentError(
        'BAD_INPUT',
        `querystring/segment: too many distinct values for a segment; choose a key with fewer values or a shorter range (reading them needs more than the ${bytes(maxMemoryBytes)} allowed)`,
      );
    throw err;
  }
}

const short = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);
