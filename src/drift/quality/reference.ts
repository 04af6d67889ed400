/** What quality measures each window against: the reference's features, their range and categories. */
import { referenceCategories } from '../engine/samples.js';
import type { DriftSettings } from '../engine/settings.js';
import type { Reference } from '../engine/types.js';
import type { QualityReferenceColumn } from './types.js';

/**
 * The reference's feature columns (outputs and labels are the model's, not its input data). The
 * kind is the one drift uses: the drift policy's override, else the reference's; a text column
 * stays categorical whatever the policy says.
 */
export function qualityReference(reference: Reference, drift: DriftSettings): QualityReferenceColumn[] {
  return reference.columns
    .filter((c) => c.role === 'feature')
    .map((c) => {
      const kind = c.valueType === 'text' ? 'categorical' : (drift.columns[c.column]?.kind ?? c.kind);
      const sorted = c.numerical?.sorted;
      const ranged = kind === 'numerical' && sorted !== undefined && sorted.length > 0;
      return {
        column: c.column,
        valueType: c.valueType,
        kind,
        min: ranged ? sorted[0] : undefined,
        max: ranged ? sorted[sorted.length - 1] : undefined,
        // Cached per reference column (derived once when the policy makes a numerical column categorical).
        categories: new Set(kind === 'categorical' ? referenceCategories(c).keys() : []),
        missingRate: reference.rows > 0 ? c.nulls / reference.rows : 0,
        hadValues: c.n > 0,
      };
    });
}
