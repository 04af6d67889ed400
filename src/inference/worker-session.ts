/**
 * An onnxruntime session in a worker thread of its own (session-worker.ts). onnxruntime-node
 * creates and runs sessions synchronously on the calling thread: on the service's thread a 40 MB
 * model's load held every request and consumer for ~0.5 s, and so did a 200,000-row batch. Here
 * the caller's thread only encodes and decodes.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type {
  OutputTensor,
  ReleaseRequest,
  RunRequest,
  SessionWorkerData,
  WorkerMessage,
} from './session-worker.js';

export type { OutputTensor } from './session-worker.js';

/** The worker's file beside this one: `.js` once built, `.ts` under the tests (types stripped by Node). */
const workerFile = new URL(
  `./session-worker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/** onnxruntime refused the bytes (the worker itself started). */
export class SessionLoadError extends Error {
  override name = 'SessionLoadError';
}

interface Pending {
  resolve: (message: WorkerMessage) => void;
  reject: (err: Error) => void;
}

export class WorkerSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Why the worker can no longer answer, once it cannot. */
  private stopped: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly inputMetadata: readonly InferenceSession.ValueMetadata[],
    readonly outputMetadata: readonly InferenceSession.ValueMetadata[],
  ) {
    worker.on('message', (message: WorkerMessage) => this.settle(message));
    worker.on('error', (err: Error) => this.stop(err));
    worker.on('exit', (code) => this.stop(new Error(`the inference worker exited (code ${code})`)));
    // Idle, the worker does not keep the process alive; a batch in flight does (see `request`).
    worker.unref();
  }

  /**
   * Starts the worker and creates the session there: rejects with a `SessionLoadError` carrying
   * onnxruntime's message when it refuses the bytes, with another error when the worker fails.
   */
  static async create(bytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<WorkerSession> {
    const workerData: SessionWorkerData = { bytes, options };
    // No execArgv: the caller's flags (`--input-type`, a test runner's) are not the worker's.
    const worker = new Worker(workerFile, { workerData, execArgv: [] });
    try {
      const first = await firstMessage(worker);
      if (first.kind !== 'ready') {
        throw first.kind === 'load-failed'
          ? new SessionLoadError(first.message)
          : new Error(`unexpected ${first.kind}`);
      }
      return new WorkerSession(worker, first.inputMetadata, first.outputMetadata);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /** Runs the session on `data` (`dims`, row-major) and answers the fetched outputs. */
  async run(
    input: string,
    data: Float32Array,
    dims: readonly number[],
    fetches: readonly string[],
  ): Promise<Record<string, OutputTensor>> {
    // One copy of just the batch's values, moved to the worker: the caller may hold a view into a
    // larger buffer of its own (a structured clone would copy all of that buffer).
    const values = data.slice();
    const message = await this.request(
      (id) => ({ kind: 'run', id, input, data: values, dims, fetches }),
      [values.buffer],
    );
    if (message.kind === 'result') return message.outputs;
    throw new Error(message.kind === 'failed' ? message.message : `unexpected ${message.kind}`);
  }

  /** Releases the session, then ends the worker. */
  async release(): Promise<void> {
    if (!this.stopped) await this.request((id): ReleaseRequest => ({ kind: 'release', id }));
    await this.worker.terminate();
  }

  private request(
    build: (id: number) => RunRequest | ReleaseRequest,
    transfer: ArrayBuffer[] = [],
  ): Promise<WorkerMessage> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    const answer = new Promise<WorkerMessage>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage(build(id), transfer);
    return answer;
  }

  private settle(message: WorkerMessage): void {
    if (!('id' in message)) return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    pending.resolve(message);
  }

  private stop(err: Error): void {
    this.stopped ??= err;
    for (const { reject } of this.pending.values()) reject(this.stopped);
    this.pending.clear();
  }
}

function firstMessage(worker: Worker): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    const exit = (code: number) =>
      reject(new Error(`the inference worker exited (code ${code}) while loading`));
    worker.once('message', (message: WorkerMessage) => {
      worker.off('error', fail);
      worker.off('exit', exit);
      resolve(message);
    });
    worker.once('error', fail);
    worker.once('exit', exit);
  });
}
