/** Page-Hinkley over a model version's per-prediction loss, read from stored predictions and labels. */
import type { ModelRegistry, ModelVersionRecord, Task } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
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

  constructor(private readonly deps: ChangeDetectionDeps) {
    this.maxValues = deps.maxValues ?? 2_000_000;
  }

  async report(
    request: ChangeRequest,
    segment?: { sql: string; params: Record<string, unknown> },
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
    const stream = await this.readLosses(request, record, segment);
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
      values: stream.loss.length,
      mean_loss:
        stream.loss.length === 0 ? null : stream.loss.reduce((s, x) => s + x, 0) / stream.loss.length,
      detections: detectInStream(stream, options),
    };
  }

  private async readLosses(
    request: ChangeRequest,
    record: ModelVersionRecord,
    segment: { sql: string; params: Record<string, unknown> } | undefined,
  ): Promise<LossStream> {
    const result = await this.deps.db.client.query({
      query: lossQuery(record.task, segment ? ` AND ${segment.sql}` : ''),
      query_params: {
        ...segment?.params,
        model: request.modelId,
        version: record.model_version,
        from: request.from,
        to: request.to,
        limit: this.maxValues + 1,
      },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ ts: (number | string)[]; ids: string[]; loss: number[] }>();
    const stream = { ts: (row?.ts ?? []).map(Number), ids: row?.ids ?? [], loss: row?.loss ?? [] };
    if (stream.loss.length > this.maxValues)
      throw new ChangeDetectionError(
        'TOO_MANY_VALUES',
        `querystring: the range holds more than ${this.maxValues} labeled predictions; ask for a shorter from/to range`,
      );
    return stream;
  }
}

/** Runs the detector over the stream; each detection with the mean loss before and after it. */
export function detectInStream(stream: LossStream, options: PageHinkleyOptions): Detection[] {
  const detector = new PageHinkley(options);
  const found: { index: number; meanBefore: number }[] = [];
  stream.loss.forEach((x, i) => {
    if (detector.update(x)) found.push({ index: i, meanBefore: detector.runningMean });
  });
  return found.map(({ index, meanBefore }, k) => {
    const end = found[k + 1]?.index ?? stream.loss.length - 1;
    let sum = 0;
    for (let i = index + 1; i <= end; i++) sum += stream.loss[i]!;
    return {
      index,
      timestamp: new Date(stream.ts[index]!).toISOString(),
      prediction_id: stream.ids[index]!,
      mean_before: meanBefore,
      mean_after: end > index ? sum / (end - index) : null,
    };
  });
}
