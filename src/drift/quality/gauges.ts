import { Gauge, type Registry } from 'prom-client';
import type { QualityBucket } from './types.js';

export interface QualityGauges {
  /** Shows a model's latest evaluated window (an older one, e.g. another version's, is ignored). */
  show(modelId: string, bucket: QualityBucket): void;
}

/** The series of one column; a share that does not apply to the column (null) has none. */
function series(c: QualityBucket['columns'][number]): [string, number][] {
  const out: [string, number][] = [
    ['missing_rate', c.missing_rate],
    ['wrong_type_share', c.wrong_type_share],
    ['flagged', c.flagged ? 1 : 0],
  ];
  if (c.unseen_share !== null) out.push(['unseen_share', c.unseen_share]);
  if (c.out_of_range_share !== null) out.push(['out_of_range_share', c.out_of_range_share]);
  if (c.status === 'new') out.push(['new_column', 1]);
  if (c.status === 'gone') out.push(['column_missing', 1]);
  return out;
}

/**
 * `modelwatch_data_quality{model,column,check}` on the injected registry. New columns are capped
 * per window (MAX_NEW_COLUMNS), which bounds the column label.
 */
export function createQualityGauges(registry: Registry): QualityGauges {
  const gauge = new Gauge({
    name: 'modelwatch_data_quality',
    help:
      "Data quality of each feature column in the model's latest evaluated window: check is missing_rate, wrong_type_share, " +
      'unseen_share, out_of_range_share (shares 0-1), flagged (1 when any check passed its threshold), new_column or column_missing (1)',
    labelNames: ['model', 'column', 'check'],
    registers: [registry],
  });
  const shown = new Map<string, { end: number; labels: { column: string; check: string }[] }>();
  return {
    show(model, bucket) {
      const end = Date.parse(bucket.end);
      const before = shown.get(model);
      if (before && before.end > end) return;
      for (const labels of before?.labels ?? []) gauge.remove({ model, ...labels });
      const labels: { column: string; check: string }[] = [];
      for (const c of bucket.columns) {
        for (const [check, value] of series(c)) {
          gauge.set({ model, column: c.column, check }, value);
          labels.push({ column: c.column, check });
        }
      }
      shown.set(model, { end, labels });
    },
  };
}
