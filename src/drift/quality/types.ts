/** Data quality per window and feature column: the shapes of the quality route and of `quality_results`. */
import type { ColumnKind } from '../statistics/index.js';
import type { ValueType } from '../engine/types.js';

export const QUALITY_CHECKS = [
  'missing',
  'wrong_type',
  'unseen',
  'out_of_range',
  'new_column',
  'column_missing',
] as const;
export type QualityCheck = (typeof QUALITY_CHECKS)[number];

/**
 * `reference`: a column of the reference; `new`: absent from it; `gone`: in it, without a value in
 * the window, which the reference's missing rate makes unlikely (checks.ts).
 */
export type ColumnStatus = 'reference' | 'new' | 'gone';

export interface UnseenCategory {
  value: string;
  count: number;
}

export interface ColumnQuality {
  column: string;
  status: ColumnStatus;
  /** The reference's; null for a new column. */
  value_type: ValueType | null;
  kind: ColumnKind | null;
  /** Rows of the window holding a finite value of the column. */
  values: number;
  /** Rows without a value (absent, null or non-finite). */
  missing_rate: number;
  /** Rows holding a value of the other type (text in a number column, a number in a text column that is none of its categories). */
  wrong_type_share: number;
  /** Categorical columns: share of the right-typed values that are no category of the reference; else null. */
  unseen_share: number | null;
  /** The most frequent unseen categories (categorical columns). */
  top_unseen: UnseenCategory[];
  /** Numerical columns: share of the numbers outside the reference's [min, max]; else null. */
  out_of_range_share: number | null;
  flags: QualityCheck[];
  flagged: boolean;
}

export interface QualityBucket {
  start: string;
  end: string;
  /** Predictions (rows) in the window. */
  count: number;
  flagged_columns: number;
  columns: ColumnQuality[];
}

/** What ClickHouse counts per window and feature key (see quality/sql.ts). */
export interface ColumnCounts {
  /** Finite numbers. */
  numbers: number;
  texts: number;
  /** Numerical columns: finite numbers outside [min, max]. */
  outside: number;
  /** Categorical columns: numbers whose `String(n)` is no reference category. */
  unseenNumbers: number;
  /** Categorical columns: texts that are no reference category. */
  unseenTexts: number;
  top: UnseenCategory[];
}

/**
 * One reference feature as quality sees it: value type, effective kind, baseline missing rate. Its
 * range and categories are read where the checks run, in SQL on the stored reference (sql.ts).
 */
export interface QualityReferenceColumn {
  column: string;
  valueType: ValueType;
  kind: ColumnKind;
  /** Rows of the reference without a value. */
  missingRate: number;
  /** Whether the reference held any value of it (a column null throughout cannot go missing). */
  hadValues: boolean;
}
