import type { FeatureSpec } from '../inference/index.js';

export interface EncodedInputs {
  /** Row-major float [rows, F] in the challenger's column order. */
  values: Float32Array;
  /** Rows refused before the core saw them, with the reason (the core's bad-row reasons). */
  refused: Map<number, string>;
}

/**
 * Event features → the core's row-major Float32Array. A missing value or one of the wrong type is
 * refused here with the core's reason (the core would only see NaN); a category not declared
 * becomes index -1, which the core refuses as `unknown_category`; NaN and out-of-range values are
 * the core's to refuse.
 */
export function encodeInputs(
  rows: readonly { features: Record<string, unknown> }[],
  columns: readonly FeatureSpec[],
): EncodedInputs {
  const f = columns.length;
  const values = new Float32Array(rows.length * f);
  const refused = new Map<number, string>();
  const categories = columns.map((c) =>
    c.categories === undefined ? undefined : new Map(c.categories.map((v, i) => [v, i])),
  );
  for (let r = 0; r < rows.length; r += 1) {
    const features = (rows[r] as { features: Record<string, unknown> }).features;
    for (let j = 0; j < f; j += 1) {
      const raw = features[(columns[j] as FeatureSpec).name];
      const index = categories[j];
      let value: number;
      if (index === undefined && typeof raw === 'number') value = raw;
      else if (index !== undefined && typeof raw === 'string') value = index.get(raw) ?? -1;
      else {
        if (!refused.has(r)) refused.set(r, raw === undefined || raw === null ? 'missing' : 'wrong_type');
        value = Number.NaN;
      }
      values[r * f + j] = value;
    }
  }
  return { values, refused };
}
