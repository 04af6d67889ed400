import type { ColumnKind, DriftMethod, NumericalReference } from '../statistics/index.js';

/** What a column is to the model: its input, its outputs, or the ground truth. */
export const COLUMN_ROLES = ['feature', 'prediction', 'score', 'label'] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];

/**
 * How a column's values are compared: as numbers, or as text categories. Booleans are text
 * ('true'/'false', as the collectors store them); a number in a text column is its `String(n)`.
 */
export type ValueType = 'number' | 'text';

/** The raw values of one column of one sample (a reference, or the rows of a window), nulls dropped. */
export interface RawColumn {
  role: ColumnRole;
  column: string;
  /** Finite numbers, ascending. */
  numbers: Float64Array;
  /** Text values with their counts. */
  texts: Map<string, number>;
}

/** One column of a reference: what every window of that column is measured against. */
export interface ReferenceColumn {
  role: ColumnRole;
  column: string;
  valueType: ValueType;
  /** The kind inferred from the reference (SPEC 5); a policy may override it. */
  kind: ColumnKind;
  /** Non-null values. */
  n: number;
  /** Rows where the column was null or absent. */
  nulls: number;
  distinct: number;
  /** Sorted values, bin edges, bin counts and std; undefined for text or empty columns. */
  numerical: NumericalReference | undefined;
  /** Counts per category (numbers as `String(n)`); filled for categorical columns. */
  categories: Map<string, number>;
}

export interface ReferenceInfo {
  modelId: string;
  version: string;
  /** Increases with every reference set for this version; windows name the one they used. */
  revision: number;
  source: 'rows' | 'range';
  /** The range of predictions it was taken from (source `range`), epoch ms. */
  from: number | null;
  to: number | null;
  rows: number;
  setAt: number;
}

export interface Reference extends ReferenceInfo {
  columns: ReferenceColumn[];
}

/** One column of one window, in the form its plan asked for. */
export interface WindowColumn {
  /** Finite numbers, ascending (numerical columns). */
  sorted?: Float64Array;
  /**
   * Finite numbers in no order: what a numerical column measured by PSI or JS (bin counts only)
   * gets from a read that allows it (`WindowsRequest.unsortedWhereBinned`); `sorted` wins when both are set.
   */
  values?: Float64Array;
  /**
   * The numbers still in the engine's result file (`WindowsRequest.numbersInFile`), read when the
   * column is evaluated: sorted ones stand for `sorted`, the others for `values`.
   */
  pending?: PendingNumbers;
  /** Counts per category (categorical columns). */
  categories?: Map<string, number>;
}

export interface PendingNumbers {
  readonly length: number;
  readonly sorted: boolean;
  /** Reads them into `into` (exactly `length` long), or into a new array. */
  read(into?: Float64Array): Promise<Float64Array>;
}

/** The rows of one window, by column key (`columnKey(role, column)`). */
export interface WindowSample {
  start: number;
  end: number;
  /** Predictions (rows) in the window. */
  count: number;
  columns: Map<string, WindowColumn>;
  /**
   * Lets go of what its pending numbers are read from, once they have been (or will not be):
   * set when the window has any. Calling it again does nothing.
   */
  release?: (() => void) | undefined;
}

/** One column's result; the shape of the drift route's `columns` entries. */
export interface ColumnDrift {
  column: string;
  role: ColumnRole;
  kind: ColumnKind;
  method: DriftMethod;
  /** null: no statistic (no values on one side), or χ² = ∞ (then p_value is 0). */
  statistic: number | null;
  p_value: number | null;
  threshold: number;
  drifted: boolean;
  /** Non-null values of the column in the window. */
  count: number;
}

/** One bucket (window) of a drift report; the drift route's `buckets` entries. */
export interface DriftBucket {
  start: string;
  end: string;
  count: number;
  /** Share of drifted feature columns among those with a statistic. */
  drift_share: number;
  dataset_drift: boolean;
  columns: ColumnDrift[];
}

export interface DriftReport {
  model_id: string;
  version: string;
  reference: { revision: number; source: 'rows' | 'range'; set_at: string; rows: number };
  buckets: DriftBucket[];
}

export function columnKey(role: ColumnRole, column: string): string {
  return `${role}\u0000${column}`;
}
