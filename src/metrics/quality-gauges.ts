import { Gauge, type Registry } from 'prom-client';
import type { ModelRegistry, ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import { addBuckets, bucketStart, parseBucket, type Bucket } from '../platform/time/index.js';
import { computeModelMetrics, type MetricsBucket } from './model-metrics.js';

const HOUR = parseBucket('1h')!;

/** The quality metrics exported as `metric` label values: a fixed, bounded set. */
export const GAUGE_METRICS = [
  // How many labels the other figures stand on: an alert can ask for enough of them.
  'labeled',
  'label_coverage',
  'accuracy',
  'precision',
  'recall',
  'f1',
  'roc_auc',
  'positive_rate',
  'macro_f1',
  'mae',
  'rmse',
  'mape',
  'r2',
] as const satisfies readonly (keyof MetricsBucket)[];

export interface QualityGaugesOptions {
  db: Database;
  models: ModelRegistry;
  registry: Registry;
  logger: Logger;
  /** The window exported: the last complete bucket of this size before now. @default 1h */
  bucket?: Bucket;
  /** The window ends this long earlier, for labels that arrive late. @default 0 */
  labelDelayMs?: number;
  /** @default 60000 */
  intervalMs?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
  /** @default computeModelMetrics (tests inject one that fails for some models) */
  compute?: typeof computeModelMetrics;
}

export interface QualityGauges {
  /** Recomputes every model's gauges now. */
  refresh(): Promise<void>;
  start(): void;
  /** Stops the loop and waits for a refresh in flight. */
  stop(): Promise<void>;
}

/**
 * `modelwatch_model_quality{model,version,metric}`: each version's quality over the last
 * complete bucket by wall clock, one small query per model per interval. Labels that arrive
 * later are picked up on the next refresh while the bucket is still the latest. A model whose
 * query fails has no series until a refresh succeeds (logged at warn, naming it).
 */
export function createQualityGauges(options: QualityGaugesOptions): QualityGauges {
  const bucket = options.bucket ?? HOUR;
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  const compute = options.compute ?? computeModelMetrics;
  const gauge = new Gauge({
    name: 'modelwatch_model_quality',
    help: `Model quality over the last complete ${bucket.text} bucket (by prediction event time; MODELWATCH_QUALITY_LABEL_DELAY earlier), by model, version and metric (labeled: the labels it stands on)`,
    labelNames: ['model', 'version', 'metric'] as const,
    registers: [options.registry],
  });
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  async function refresh(): Promise<void> {
    const to = bucketStart(bucket, now() - (options.labelDelayMs ?? 0));
    const from = addBuckets(bucket, to, -1);
    const byModel = new Map<string, ModelVersionRecord[]>();
    for (const v of await options.models.list())
      byModel.set(v.model_id, [...(byModel.get(v.model_id) ?? []), v]);
    const results = [];
    for (const [model, versions] of byModel) {
      // One model's failure must not freeze the others: its series go (no stale bucket), the others refresh.
      try {
        results.push(await compute(options.db, { model, versions, bucket: bucket.text, from, to }));
      } catch (err) {
        options.logger.warn(
          { model, err: errorMessage(err) },
          'model quality gauges could not refresh this model; its series are left out',
        );
      }
    }
    // Reset only once every query is done, so a scrape never sees a half-filled set.
    gauge.reset();
    for (const { model_id: model, buckets } of results) {
      for (const b of buckets) {
        for (const metric of GAUGE_METRICS) {
          const value = b[metric];
          if (value !== null) gauge.set({ model, version: b.version, metric }, value);
        }
      }
    }
  }

  function tick(): void {
    inFlight = refresh()
      .catch((err: unknown) =>
        options.logger.warn({ err: errorMessage(err) }, 'model quality gauges could not refresh'),
      )
      .finally(() => {
        inFlight = undefined;
        if (stopped) return;
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      });
  }

  return {
    refresh,
    start() {
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
