/**
 * One loaded model: its onnxruntime session (created once, reused by every batch, in a worker
 * thread of its own), its checked metadata and graph binding. `close()` waits for batches in
 * flight, then releases the session and ends its worker.
 */
import { createHash } from 'node:crypto';
import { decodeOutputs, decodeValues, type ScoreResult } from './decode-outputs.js';
import { labelIndexer } from './label-index.js';
import { encodeMatrix, type FeatureMatrix } from './encode-matrix.js';
import { rowEncoder, type EncodedBatch } from './encode-rows.js';
import { errorText, InferenceError } from './errors.js';
import { bindGraph, type GraphBinding } from './graph-check.js';
import type { ModelMetadata } from './metadata.js';
import type { ResolvedInferenceOptions } from './options.js';
import { SessionLoadError, WorkerFailure, WorkerSession, type OutputTensor } from './worker-session.js';

export class OnnxModel {
  private closed = false;
  private inFlight = new Set<Promise<unknown>>();
  private readonly indexLabels: ReturnType<typeof labelIndexer>;
  private readonly encodeRows: ReturnType<typeof rowEncoder>;

  private constructor(
    private readonly session: WorkerSession,
    readonly metadata: ModelMetadata,
    readonly binding: GraphBinding,
    /** Hex SHA-256 of the artifact's bytes, as the registry records it. */
    readonly sha256: string,
  ) {
    this.indexLabels = labelIndexer(metadata.classes);
    this.encodeRows = rowEncoder(metadata.columns);
  }

  /**
   * Creates the session, then resolves the metadata and checks the graph against it; the session
   * is released on any failure. The session comes first so that bytes onnxruntime refuses are
   * always `ARTIFACT_INVALID`, whatever the metadata.
   */
  static async create(
    bytes: Uint8Array,
    metadataOf: () => ModelMetadata,
    options: ResolvedInferenceOptions,
  ): Promise<OnnxModel> {
    if (bytes.length === 0) throw new InferenceError('ARTIFACT_INVALID', 'ONNX artifact is empty');
    let session: WorkerSession;
    try {
      session = await WorkerSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Fatal only: a refused artifact is reported once, by the InferenceError carrying onnxruntime's message.
        logSeverityLevel: 4,
      });
    } catch (cause) {
      if (!(cause instanceof SessionLoadError))
        throw new InferenceError(
          'WORKER_FAILED',
          `the inference worker could not start: ${errorText(cause)}`,
          {
            cause,
          },
        );
      throw new InferenceError('ARTIFACT_INVALID', `ONNX artifact could not be loaded: ${errorText(cause)}`, {
        cause,
      });
    }
    try {
      const metadata = metadataOf();
      const binding = bindGraph(session, metadata);
      return new OnnxModel(session, metadata, binding, createHash('sha256').update(bytes).digest('hex'));
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Scores rows of features (objects keyed by feature name); bad rows are reported, not thrown. */
  // async, so a closed model rejects rather than throws; the batch is tracked before the first await.
  async score(rows: readonly unknown[]): Promise<ScoreResult> {
    this.assertOpen();
    return this.track(this.run(this.encodeRows(rows), rows.length));
  }

  /** Scores a numeric matrix of the graph columns; throws `INPUT_SHAPE` on a wrong length. */
  async scoreMatrix(matrix: FeatureMatrix): Promise<ScoreResult> {
    this.assertOpen();
    return this.track(this.run(encodeMatrix(matrix, this.metadata.columns), matrix.rows));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Its worker thread stopped: every score fails with `WORKER_FAILED` (InferenceCore loads it again). */
  get workerFailed(): boolean {
    return this.session.failed;
  }

  /** Test-only: ends the session's worker thread as a crash would. */
  crashWorkerForTest(): Promise<void> {
    return this.session.crashWorker();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.inFlight);
    await this.session.release();
  }

  private assertOpen(): void {
    if (this.closed)
      throw new InferenceError(
        'MODEL_CLOSED',
        `model ${this.metadata.name ?? this.sha256.slice(0, 12)} is closed`,
      );
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => this.inFlight.delete(work);
    void work.then(done, done);
    return work;
  }

  private async run(batch: EncodedBatch, total: number): Promise<ScoreResult> {
    if (batch.rows === 0) return decodeOutputs(this.metadata, this.indexLabels, batch, total, null, null);
    const f = this.metadata.columns.length;
    const used = batch.rows * f;
    // A view: the session copies the values it sends to its worker.
    const data = batch.values.length === used ? batch.values : batch.values.subarray(0, used);
    const binding = this.binding;
    const names = 'value' in binding ? [binding.value] : [binding.label, binding.probabilities];
    let outputs: Record<string, OutputTensor>;
    try {
      outputs = await this.session.run(binding.input, data, [batch.rows, f], names);
    } catch (cause) {
      if (cause instanceof WorkerFailure)
        throw new InferenceError('WORKER_FAILED', `scoring ${batch.rows} rows: ${cause.message}`, { cause });
      throw new InferenceError(
        'RUN_FAILED',
        `onnxruntime failed scoring ${batch.rows} rows: ${errorText(cause)}`,
        { cause },
      );
    }
    if ('value' in binding) return decodeValues(batch, total, outputs[binding.value] ?? null);
    return decodeOutputs(
      this.metadata,
      this.indexLabels,
      batch,
      total,
      outputs[binding.label] ?? null,
      outputs[binding.probabilities] ?? null,
    );
  }
}
