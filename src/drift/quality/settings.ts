/**
 * A model's data-quality thresholds: the `quality` section of its policy (PUT /models/:model/policy).
 * Each share is a fraction of the window's rows (see README "Data quality").
 */
import { z } from 'zod';

/** Flagged when the window's missing rate exceeds the reference's by more than this. @default 0.05 */
export const DEFAULT_MISSING_RATE = 0.05;
/** Flagged when more than this share of the rows hold a value of the wrong type. @default 0.01 */
export const DEFAULT_WRONG_TYPE_SHARE = 0.01;
/** Flagged when more than this share of a categorical column's values are unseen categories. @default 0.05 */
export const DEFAULT_UNSEEN_SHARE = 0.05;
/** Flagged when more than this share of a numerical column's values fall outside the reference's [min, max]. @default 0.05 */
export const DEFAULT_OUT_OF_RANGE_SHARE = 0.05;
/** Columns absent from the reference are flagged. @default true */
export const DEFAULT_FLAG_NEW_COLUMNS = true;
/**
 * A reference column without any value in a window is `column_missing` only when that is this
 * unlikely under the reference's own missing rate r: r^rows below it (rows drawn independently).
 * A never-null column goes missing from a window of 1 row; a 97%-null one needs 227 rows.
 */
export const COLUMN_MISSING_SIGNIFICANCE = 0.001;
/** Unseen categories listed per column and window. @default 5 */
export const TOP_UNSEEN = 5;
/** New columns reported per window (the most frequent first), so a flood of keys stays bounded. @default 100 */
export const MAX_NEW_COLUMNS = 100;

const share = z
  .number()
  .refine(Number.isFinite, 'must be a finite number')
  .refine((n) => n >= 0 && n <= 1, 'must be a share between 0 and 1');

/** The wire form, snake_case like the rest of the API; every field optional. */
export const qualityPolicySchema = z.strictObject({
  missing_rate: share.optional(),
  wrong_type_share: share.optional(),
  unseen_share: share.optional(),
  out_of_range_share: share.optional(),
  new_columns: z.boolean().optional(),
});
export type QualityPolicy = z.infer<typeof qualityPolicySchema>;

export interface QualitySettings {
  missingRate: number;
  wrongTypeShare: number;
  unseenShare: number;
  outOfRangeShare: number;
  flagNewColumns: boolean;
}

export function qualitySettings(policy: QualityPolicy = {}): QualitySettings {
  return {
    missingRate: policy.missing_rate ?? DEFAULT_MISSING_RATE,
    wrongTypeShare: policy.wrong_type_share ?? DEFAULT_WRONG_TYPE_SHARE,
    unseenShare: policy.unseen_share ?? DEFAULT_UNSEEN_SHARE,
    outOfRangeShare: policy.out_of_range_share ?? DEFAULT_OUT_OF_RANGE_SHARE,
    flagNewColumns: policy.new_columns ?? DEFAULT_FLAG_NEW_COLUMNS,
  };
}
