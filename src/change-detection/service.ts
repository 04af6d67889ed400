/** Page-Hinkley over a model version's per-prediction loss, read from stored predictions and labels. */
import { normalizeClass, type ModelRegistry, type ModelVersionRecord, type Task } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { requireSegmentInScope, valueFilter, type SegmentSpec } from '../segments/index.js';
import { ChangeDetectionError } from './errors.js';
import { lossQuery, LOSS_NAME } from './loss-sql.js';
import { PageHinkley, type PageHinkleyOptions } from './page-hinkley.js';
import { detectorOptions, type ChangeDetectionPolicy } from './settings.js';

export interface ChangeDetectionDeps {
  db: Database;
  models: ModelRegistry;
  /** The model's `change_detection` policy section (validated), or `{}`. */
  policy(modelId: string): Promise<ChangeDetectionPolicy>;
  /** The version a request naming none means (drift's default: the latest in production). */
  defaultVersion(versions: readonly ModelVersionRecord[]): string;
  /** Labeled predictions one answer may run over; more is a 400 asking for a shorter range. @default 2_000_000 */
  maxValues?: number;
  /**
   * Detections one answer may hold; more is a 400 asking for a higher threshold. A tiny threshold
   * with `min_instances` 1 detects at every other value: up to a million detections (over 300 MB
   * held, a 130 MB answer) for one request. @default 10_000
   */
  maxDetections?: number;
  /** The segment reads' memory bound (MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES). @default 256 MiB */
  segmentMaxMemoryBytes?: number | undefined;
}

export interface ChangeRequest {
  modelId: string;
  version?: string | undefined;
  from: number;
  to: number;
  /** Overrides of the policy's parameters. */
  parameters?: ChangeDetectionPolicy | undefined;
}

export interface Detection {
  /** Position of the value in the loss stream (0-based). */
  index: number;
  timestamp: string;
  prediction_id: string;
  /** Mean loss from the previous detection (or the start) to this value: the level the change left. */
  mean_before: number;
  /** Mean loss after this value up to the next detection (or the end); null when none follow. */
  mean_after: number | null;
}

export interface ChangeReport {
  model_id: string;
  version: string;
  task: Task;
  loss: 'zero_one' | 'absolute_error';
  from: string;
  to: string;
  parameters: { min_instances: number; delta: number; threshold: number; alpha: number; mode: string };
  /** Labeled predictions in range: the stream's length. */
  values: number;
  mean_loss: number | null;
  detections: Detection[];
}

/** A stream of losses in event-time order, with what names each value. */
export interface LossStream {
  ts: number[];
  ids: string[];
  loss: number[];
}

export class ChangeDetectionService {
  private readonly maxValues: number;
  private readonly maxDetections: number;

  constructor(private readonly deps: ChangeDetectionDeps) {
    this.maxValues = deps.maxValues ?? 2_000_000;
    this.maxDetections = deps.maxDetections ?? 10_000;
  }

  /**
   * With `segment`, only that segment's predictions; a feature or tag that no prediction of the
   * version in the range has is a 400 (most likely a typo), as on the other segmented routes.
   */
  async report(
    request: ChangeRequest,
    segment?: { spec: SegmentSpec; value: string },
  ): Promise<ChangeReport> {
    const versions = await this.deps.models.list(request.modelId);
    if (versions.length === 0)
      throw new ChangeDetectionError('UNKNOWN_MODEL', `unknown model '${request.modelId}'`);
    const version = request.version ?? this.deps.defaultVersion(versions);
    const record = versions.find((v) => v.model_version === version);
    if (!record)
      throw new ChangeDetectionError(
        'UNKNOWN_VERSION',
        `model '${request.modelId}' has no version '${version}' (known: ${versions.map((v) => v.model_version).join(', ')})`,
      );
    const options = detectorOptions(await this.deps.policy(request.modelId), request.parameters);
    if (segment)
      await requireSegmentInScope(
        this.deps.db,
        segment.spec,
        {
          model: request.modelId,
          versions: [version],
          from: request.from,
          to: request.to,
        },
        { maxMemoryBytes: this.deps.segmentMaxMemoryBytes },
      );
    const filter = segment ? valueFilter(segment.spec, segment.value) : undefined;
    const run = await this.detectInStoredLosses(request, record, filter, options);
    return {
      model_id: request.modelId,
      version,
      task: record.task,
      loss: LOSS_NAME[record.task],
      from: new Date(request.from).toISOString(),
      to: new Date(request.to).toISOString(),
      parameters: {
        min_instances: options.minInstances,
        delta: options.delta,
        threshold: options.threshold,
        alpha: options.alpha,
        mode: options.mode,
      },
      values: run.values,
      mean_loss: run.meanLoss,
      detections: run.detections(),
    };
  }

  /**
   * Reads the losses one row per prediction and feeds them to the detector as they come: memory
   * is bounded by the detections, not the stream (one row of arrays for the whole range made one
   * string of hundreds of MB, past V8's limit with long prediction ids).
   */
  private async detectInStoredLosses(
    request: ChangeRequest,
    record: ModelVersionRecord,
    segment: { sql: string; params: Record<string, unknown> } | undefined,
    options: PageHinkleyOptions,
  ): Promise<StreamDetection> {
    const result = await this.deps.db.client.query({
      query: lossQuery(record.task, segment ? ` AND ${segment.sql}` : ''),
      query_params: {
        ...segment?.params,
        model: request.modelId,
        version: record.model_version,
        from: request.from,
        to: request.to,
        limit: this.maxValues + 1,
        positive: normalizeClass(record.positive_class),
      },
      format: 'JSONCompactEachRow',
    });
    const run = new StreamDetection(options);
    // Leaving the loop early (too many values) destroys the stream: the rest is not read.
    for await (const rows of result.stream<LossRow>()) {
      for (const row of rows) {
        if (run.values === this.maxValues)
          throw new ChangeDetectionError(
            'TOO_MANY_VALUES',
            `querystring: the range holds more than ${this.maxValues} labeled predictions; ask for a shorter from/to range`,
          );
        const [t, id, loss] = row.json();
        run.push(Number(t), id, loss);
        if (run.detectionCount > this.maxDetections)
          throw new ChangeDetectionError(
            'TOO_MANY_DETECTIONS',
            `querystring: more than ${this.maxDetections} detections in the range; raise threshold (the query's or the change_detection policy's) or min_instances, or ask for a shorter from/to range`,
          );
      }
    }
    return run;
  }
}

/** One labeled prediction as `lossQuery` returns it: event time (epoch ms), id, loss. */
type LossRow = [number | string, string, number];

/**
 * Page-Hinkley fed one value at a time, keeping only what the answer needs: each detection with
 * the mean loss before it and after it (until the next detection, inclusive, or the end).
 */
export class StreamDetection {
  private readonly detector: PageHinkley;
  private readonly found: Detection[] = [];
  private count = 0;
  private total = 0;
  private mean = 0;
  /** Sum and mean of the values after the latest detection (all of them before the first). */
  private sinceLatest = 0;
  private sinceLatestMean = 0;
  private sinceLatestCount = 0;

  constructor(options: PageHinkleyOptions) {
    this.detector = new PageHinkley(options);
  }

  get values(): number {
    return this.count;
  }

  get meanLoss(): number | null {
    return this.count === 0 ? null : meanOf(this.total, this.count, this.mean);
  }

  get detectionCount(): number {
    return this.found.length;
  }

  push(ts: number, id: string, loss: number): void {
    const index = this.count++;
    this.total += loss;
    this.mean += (loss - this.mean) / this.count;
    this.sinceLatestCount += 1;
    this.sinceLatest += loss;
    this.sinceLatestMean += (loss - this.sinceLatestMean) / this.sinceLatestCount;
    if (!this.detector.update(loss)) return;
    const previous = this.found[this.found.length - 1];
    if (previous) previous.mean_after = this.meanSinceLatest();
    this.found.push({
      index,
      timestamp: new Date(ts).toISOString(),
      prediction_id: id,
      mean_before: this.detector.runningMean,
      mean_after: null,
    });
    this.sinceLatest = 0;
    this.sinceLatestMean = 0;
    this.sinceLatestCount = 0;
  }

  private meanSinceLatest(): number {
    return meanOf(this.sinceLatest, this.sinceLatestCount, this.sinceLatestMean);
  }

  /** The detections so far; the latest's `mean_after` runs to the last value pushed (null when none follow it). */
  detections(): Detection[] {
    const out = this.found.map((d) => ({ ...d }));
    const latest = out[out.length - 1];
    if (latest && this.sinceLatestCount > 0) latest.mean_after = this.meanSinceLatest();
    return out;
  }
}

/**
 * The sum's mean (exact for 0/1 losses), or the running mean once the sum overflows: absolute
 * errors near 1e308 are finite, their sum is not, and JSON carries Infinity as null.
 */
function meanOf(sum: number, count: number, running: number): number {
  return Number.isFinite(sum) ? sum / count : running;
}

/** Runs the detector over the stream; each detection with the mean loss before and after it. */
export function detectInStream(stream: LossStream, options: PageHinkleyOptions): Detection[] {
  const run = new StreamDetection(options);
  stream.loss.forEach((x, i) => run.push(stream.ts[i]!, stream.ids[i]!, x));
  return run.detections();
}
