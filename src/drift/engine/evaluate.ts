/**
 * The drift engine proper: which kind, method and threshold each column gets, and the results
 * of one window. The service (windows read from ClickHouse) and the offline CLI (windows read
 * from files) both end here, so their numbers are the same by construction.
 */
import {
  alignCategoryCounts,
  binnedDrift,
  categoricalDrift,
  datasetDrift,
  METHOD_KINDS,
  numericalDrift,
  resolveMethod,
  type ColumnDriftResult,
  type ColumnKind,
  type DriftMethod,
  type MethodOption,
} from '../statistics/index.js';
import type { WalkPool } from '../walks/walk-pool.js';
import { referenceCategories } from './samples.js';
import type { DriftSettings } from './settings.js';
import {
  COLUMN_ROLES,
  columnKey,
  type ColumnDrift,
  type DriftBucket,
  type PendingNumbers,
  type Reference,
  type ReferenceColumn,
  type WindowSample,
} from './types.js';

export interface ColumnPlan {
  key: string;
  ref: ReferenceColumn;
  kind: ColumnKind;
  method: DriftMethod;
  threshold: number;
  /** What a window has to provide for this column. */
  needs: 'sorted' | 'categories';
}

const EMPTY = new Float64Array(0);

function applies(method: MethodOption | undefined, kind: ColumnKind): method is MethodOption {
  return method !== undefined && (method === 'auto' || METHOD_KINDS[method].includes(kind));
}

/**
 * Per column: kind = the policy's override, except that a text column stays categorical; method =
 * the first of (request, column policy, model policy, `auto`) that applies to the kind, so asking
 * for `ks` still gives categorical columns a categorical test; threshold = the column's, else the
 * model's for that method, else the default. Features first (by name), then prediction, score, label.
 */
export function planColumns(
  reference: Reference,
  settings: DriftSettings,
  requested?: MethodOption,
): ColumnPlan[] {
  const roleOrder = (role: string) => COLUMN_ROLES.indexOf(role as (typeof COLUMN_ROLES)[number]);
  const columns = [...reference.columns].sort(
    (a, b) =>
      roleOrder(a.role) - roleOrder(b.role) || (a.column < b.column ? -1 : a.column > b.column ? 1 : 0),
  );
  return columns.map((ref) => {
    // Own keys only: `settings.columns.constructor` is Object itself for a column named so.
    const own = Object.hasOwn(settings.columns, ref.column) ? settings.columns[ref.column] : undefined;
    const kind: ColumnKind = ref.valueType === 'text' ? 'categorical' : (own?.kind ?? ref.kind);
    const option = [requested, own?.method, settings.method].find((m) => applies(m, kind)) ?? 'auto';
    const method = resolveMethod(option, kind, ref.n);
    return {
      key: columnKey(ref.role, ref.column),
      ref,
      kind,
      method,
      threshold: columnThreshold(own, method) ?? settings.thresholds[method],
      needs: kind === 'numerical' ? 'sorted' : 'categories',
    };
  });
}

const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'chi2']);

/**
 * A column's own threshold where it fits the method the column is tested with: the method it
 * names (a threshold set for psi is no p-value cut-off when `?method=ks` is asked), and for a
 * p-value test at most 1 (a threshold of 2 under auto's KS made `p < 2`: drift in every window).
 * Otherwise the model's threshold for that method.
 */
function columnThreshold(
  own: { method?: MethodOption | undefined; threshold?: number | undefined } | undefined,
  method: DriftMethod,
): number | undefined {
  if (own?.threshold === undefined) return undefined;
  if (own.method !== undefined && own.method !== 'auto' && own.method !== method) return undefined;
  return P_VALUE_METHODS.has(method) && own.threshold > 1 ? undefined : own.threshold;
}

export function evaluateColumn(plan: ColumnPlan, window: WindowSample): ColumnDrift {
  const current = window.columns.get(plan.key);
  if (current?.pending)
    throw new Error(
      `evaluateColumn: ${plan.ref.column}'s numbers are still in the result file (evaluateWindowOn reads them)`,
    );
  if (plan.kind === 'numerical') {
    const ref = plan.ref.numerical;
    const unsorted = current?.sorted === undefined ? current?.values : undefined;
    if (ref && unsorted && (plan.method === 'psi' || plan.method === 'jensenshannon'))
      return columnDrift(plan, binnedDrift(plan.method, ref, unsorted, plan.threshold), unsorted.length);
    const sorted = current?.sorted ?? EMPTY;
    const result = ref
      ? numericalDrift(plan.method, ref, sorted, plan.threshold)
      : { method: plan.method, statistic: null, pValue: null, threshold: plan.threshold, drifted: false };
    return columnDrift(plan, result, sorted.length);
  }
  const categories = current?.categories ?? new Map<string, number>();
  const aligned = alignCategoryCounts(referenceCategories(plan.ref), categories);
  const result = categoricalDrift(plan.method, aligned.ref, aligned.cur, plan.threshold);
  let count = 0;
  for (const c of categories.values()) count += c;
  return columnDrift(plan, result, count);
}

function columnDrift(plan: ColumnPlan, result: ColumnDriftResult, count: number): ColumnDrift {
  return {
    column: plan.ref.column,
    role: plan.ref.role,
    kind: plan.kind,
    method: result.method,
    statistic: result.statistic,
    p_value: result.pValue,
    threshold: result.threshold,
    drifted: result.drifted,
    count,
  };
}

/**
 * One window's report. Dataset drift counts feature columns only, and among them only those with
 * a statistic: a feature with no values in the window is missing data, not evidence either way.
 */
export function evaluateWindow(
  plans: readonly ColumnPlan[],
  window: WindowSample,
  datasetDriftShare: number,
): DriftBucket {
  return bucketOf(
    window,
    plans.map((plan) => evaluateColumn(plan, window)),
    datasetDriftShare,
  );
}

/**
 * `evaluateWindow` with the walks of large numerical columns on the pool's worker threads (the
 * same function runs there, so the results are the same bit for bit); the rest on this thread,
 * giving the event loop a turn every `SLICE_MS`. A window's columns in one go held HTTP requests,
 * the Kafka consumers and health checks for seconds (20 columns of 5,000 × 3,000: 1.55 s). A
 * costly exact KS p-value (one column of unequal samples up to 10,000: up to ~0.5 s) goes to the
 * pool too (`WalkPool.accepts`). Numbers still in the engine's result file (`pending`) are read
 * straight into the walk's slot, or into one buffer reused for this thread's columns.
 */
export async function evaluateWindowOn(
  pool: WalkPool | undefined,
  plans: readonly ColumnPlan[],
  window: WindowSample,
  datasetDriftShare: number,
): Promise<DriftBucket> {
  const slices = new TimeSlices();
  const scratch = new Scratch();
  const columns: Promise<ColumnDrift>[] = [];
  for (const plan of plans) {
    const column = window.columns.get(plan.key);
    const pending = column?.pending;
    const length = pending?.length ?? column?.sorted?.length ?? 0;
    const ref = plan.ref.numerical;
    if (
      pool &&
      plan.kind === 'numerical' &&
      ref &&
      (pending?.sorted ?? true) &&
      pool.accepts(plan.method, ref, length)
    ) {
      const sorted = column?.sorted ?? EMPTY;
      const walked = pool
        .runFilled({
          method: plan.method,
          ref,
          threshold: plan.threshold,
          length,
          fill: (slot) => (pending ? pending.read(slot) : Promise.resolve(slot.set(sorted))),
        })
        .then((result) => columnDrift(plan, result, length));
      // Awaited below; a failure must not count as unhandled while this thread yields.
      walked.catch(() => undefined);
      columns.push(walked);
    } else {
      await slices.yieldIfDue();
      const here = pending ? await withNumbersRead(window, plan.key, pending, scratch) : window;
      columns.push(Promise.resolve(evaluateColumn(plan, here)));
    }
  }
  return bucketOf(window, await Promise.all(columns), datasetDriftShare);
}

/** The window with one column, its pending numbers read into the scratch buffer. */
async function withNumbersRead(
  window: WindowSample,
  key: string,
  pending: PendingNumbers,
  scratch: Scratch,
): Promise<WindowSample> {
  const numbers = await pending.read(scratch.take(pending.length));
  const column = pending.sorted ? { sorted: numbers } : { values: numbers };
  return { ...window, columns: new Map([[key, column]]) };
}

/**
 * One buffer for the numbers read on this thread, column after column: each column is evaluated
 * before the next is read, and a fresh 8 MB array a column would be garbage until V8 collects it.
 */
class Scratch {
  private buffer = new Float64Array(0);

  take(length: number): Float64Array {
    if (this.buffer.length < length) this.buffer = new Float64Array(length);
    return this.buffer.subarray(0, length);
  }
}

/** Milliseconds of columns on this thread between turns of the event loop. */
const SLICE_MS = 10;

class TimeSlices {
  private start = performance.now();

  /** A turn of the event loop (`setImmediate`: after pending I/O) once this slice has run its time. */
  async yieldIfDue(): Promise<void> {
    if (performance.now() - this.start < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.start = performance.now();
  }
}

function bucketOf(window: WindowSample, columns: ColumnDrift[], datasetDriftShare: number): DriftBucket {
  return {
    start: new Date(window.start).toISOString(),
    end: new Date(window.end).toISOString(),
    count: window.count,
    ...datasetDriftOf(columns, datasetDriftShare),
    columns,
  };
}

/**
 * A bucket's drift share and dataset drift from its columns: feature columns with a statistic
 * count (a feature with no values in the window is missing data, not evidence either way).
 */
export function datasetDriftOf(
  columns: readonly ColumnDrift[],
  datasetDriftShare: number,
): Pick<DriftBucket, 'drift_share' | 'dataset_drift'> {
  const measured = columns.filter(
    (c) => c.role === 'feature' && (c.statistic !== null || c.p_value !== null),
  );
  const dataset = datasetDrift(
    measured.map((c) => c.drifted),
    datasetDriftShare,
  );
  return { drift_share: dataset.share, dataset_drift: dataset.drifted };
}
