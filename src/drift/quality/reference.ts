/**
 * What quality measures each window against: the reference's features, their kinds and baseline
 * missing rates. Their ranges and categories are read in SQL from the stored reference (sql.ts).
 */
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
      return {
        column: c.column,
        valueType: c.valueType,
        kind,
        missingRate: reference.rows > 0 ? c.nulls / reference.rows : 0,
        hadValues: c.n > 0,
      };
    });
}
