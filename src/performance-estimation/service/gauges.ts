/**
 * `modelwatch_estimated_quality{model,version,metric}`: each binary version's CBPE estimates over
 * the last complete bucket by wall clock (the window of `modelwatch_model_quality` while
 * MODELWATCH_QUALITY_LABEL_DELAY is 0; with a delay the realized one is that much older), for versions whose reference is taken from a time range. Versions
 * without one are skipped silently: that is a setup state the route explains, not an error.
 * A version whose estimate fails is logged and its series dropped (stale values would read as
 * fresh ones); the other versions' series are refreshed all the same.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ModelRegistry, ModelVersionRecord } from '../../models/index.js';
import { errorMessage } from '../../platform/errors.js';
import { SerialLoop } from '../../platform/loop/index.js';
import type { Logger } from '../../platform/observability/index.js';
import { addBuckets, bucketStart, parseBucket, type Bucket } from '../../platform/time/index.js';
import { ESTIMATED_METRICS } from '../estimators.js';
import { EstimationError } from '../errors.js';
import type { EstimationService } from './estimation-service.js';

export interface EstimationGaugesOptions {
  service: Pick<EstimationService, 'calibrators' | 'estimateRows'>;
  models: Pick<ModelRegistry, 'list'>;
  registry: Registry;
  logger: Logger;
  /** The window exported: the last complete bucket of this size before now. @default 1h */
  bucket?: Bucket;
  /** @default 60000 */
  intervalMs?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
}

export class EstimationGauges {
  private readonly gauge: Gauge<'model' | 'version' | 'metric'>;
  private readonly loop: SerialLoop<void>;
  private readonly bucket: Bucket;

  constructor(private readonly options: EstimationGaugesOptions) {
    this.bucket = options.bucket ?? parseBucket('1h')!;
    this.gauge = new Gauge({
      name: 'modelwatch_estimated_quality',
      help: `CBPE estimate of a binary classifier's quality over the last complete ${this.bucket.text} bucket (by prediction event time), before labels arrive`,
      labelNames: ['model', 'version', 'metric'] as const,
      registers: [options.registry],
    });
    this.loop = new SerialLoop(() => this.refresh(), {
      intervalMs: options.intervalMs ?? 60_000,
      onError: (err) =>
        options.logger.warn({ err: errorMessage(err) }, 'estimated quality gauges could not refresh'),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Recomputes every gauge now. */
  runOnce(): Promise<void> {
    return this.loop.runOnce();
  }

  private async refresh(): Promise<void> {
    const to = bucketStart(this.bucket, (this.options.now ?? Date.now)());
    const from = addBuckets(this.bucket, to, -1);
    const values: { model: string; version: string; metric: string; value: number }[] = [];
    for (const v of await this.options.models.list()) {
      if (v.task !== 'binary_classification') continue;
      try {
        for (const value of await this.versionValues(v, from, to)) values.push(value);
      } catch (err) {
        this.options.logger.warn(
          { model: v.model_id, version: v.model_version, err: errorMessage(err) },
          'estimated quality of this version could not be computed: its gauges are dropped until it can',
        );
      }
    }
    // Reset only once every query is done, so a scrape never sees a half-filled set.
    this.gauge.reset();
    for (const { value, ...labels } of values) this.gauge.set(labels, value);
  }

  /** One version's gauge values: none without a range reference (a setup state, not an error). */
  private async versionValues(
    v: ModelVersionRecord,
    from: number,
    to: number,
  ): Promise<{ model: string; version: string; metric: string; value: number }[]> {
    let calibrator;
    try {
      calibrator = await this.options.service.calibrators.get(v);
    } catch (err) {
      if (err instanceof EstimationError && err.code === 'NO_REFERENCE') return [];
      throw err;
    }
    const values = [];
    for (const row of await this.options.service.estimateRows(v, calibrator, this.bucket, from, to))
      for (const metric of ESTIMATED_METRICS) {
        const value = row[metric];
        if (value !== null && Number.isFinite(value))
          values.push({ model: v.model_id, version: v.model_version, metric, value });
      }
    return values;
  }
}
