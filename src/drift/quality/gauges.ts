import { Gauge, type Registry } from 'prom-client';
import type { VersionKey } from '../store/references.js';
import { NewestWindows } from '../service/gauges.js';
import type { QualityBucket } from './types.js';

export interface QualityGauges {
  /**
   * Shows a version's newest evaluated window. The model's series combine the versions whose newest
   * window ends last (the highest value of each check); an older window is ignored.
   */
  show(key: VersionKey, bucket: QualityBucket): void;
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
 * per window (MAX_NEW_COLUMNS), which bounds the column label (per version whose window ends last).
 */
export function createQualityGauges(registry: Registry): QualityGauges {
  const gauge = new Gauge({
    name: 'modelwatch_data_quality',
    help:
      "Data quality of each feature column in the model's latest evaluated window, the highest over the versions whose window ends last: " +
      'check is missing_rate, wrong_type_share, unseen_share, out_of_range_share (shares 0-1), flagged (1 when any check passed its threshold), ' +
      'new_column or column_missing (1)',
    labelNames: ['model', 'column', 'check'],
    registers: [registry],
  });
  const newest = new NewestWindows<QualityBucket>();
  const shown = new Map<string, { column: string; check: string }[]>();
  return {
    show({ modelId: model, version }, bucket) {
      if (!newest.offer(model, version, Date.parse(bucket.end), bucket)) return;
      for (const labels of shown.get(model) ?? []) gauge.remove({ model, ...labels });
      const worst = new Map<string, { column: string; check: string; value: number }>();
      for (const c of newest.latest(model).flatMap((b) => b.columns)) {
        for (const [check, value] of series(c)) {
          const id = `${c.column}\u0000${check}`;
          worst.set(id, {
            column: c.column,
            check,
            value: Math.max(value, worst.get(id)?.value ?? -Infinity),
          });
        }
      }
      for (const { column, check, value } of worst.values()) gauge.set({ model, column, check }, value);
      shown.set(
        model,
        [...worst.values()].map(({ column, check }) => ({ column, check })),
      );
    },
  };
}
