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
import type { OutputTensor, WorkerReply, WorkerRequest } from './session-worker.js';

export type { OutputTensor } from './session-worker.js';

/** The worker's file beside this one: `.js` once built, `.ts` under the tests (types stripped by Node). */
const workerFile = new URL(
  `./session-worker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/** Workers without a session kept for the next load (one starts in ~0.2 s). */
const MAX_IDLE_WORKERS = 2;

/** onnxruntime refused the bytes (the worker itself started). */
export class SessionLoadError extends Error {
  override name = 'SessionLoadError';
}

/** The worker thread could not start, or stopped: nothing about the model; another worker may do. */
export class WorkerFailure extends Error {
  override name = 'WorkerFailure';
}

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Requests to one worker and their replies, matched by id; the worker holds the process only while one is pending. */
class WorkerChannel {
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  /** Why the worker can no longer answer, once it cannot. */
  private stopped: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err: Error) =>
      this.stop(new WorkerFailure(`the inference worker failed: ${err.message}`)),
    );
    worker.on('exit', (code) => this.stop(new WorkerFailure(`the inference worker exited (code ${code})`)));
    worker.unref();
  }

  get usable(): boolean {
    return this.stopped === undefined;
  }

  /** Ends the worker as a crash would: what is pending fails with a `WorkerFailure`. */
  crash(): Promise<number> {
    return this.worker.terminate();
  }

  request(request: Request, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    try {
      this.worker.postMessage({ ...request, id }, transfer);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const reply = new Promise<WorkerReply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    return reply;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    pending.resolve(reply);
  }

  private stop(err: Error): void {
    this.stopped ??= err;
    for (const { reject } of this.pending.values()) reject(this.stopped);
    this.pending.clear();
    this.worker.unref();
  }
}

const idle: WorkerChannel[] = [];
let started = 0;

/** Worker threads this process started (for tests: a refused or released session's worker is reused). */
export function workerThreadsStarted(): number {
  return started;
}

function channel(): WorkerChannel {
  for (let c = idle.pop(); c; c = idle.pop()) if (c.usable) return c;
  started += 1;
  // No execArgv: the caller's flags (`--input-type`, a test runner's) are not the worker's.
  return new WorkerChannel(new Worker(workerFile, { execArgv: [] }));
}

/** Keeps a worker whose session is gone for the next load, or ends it. */
async function recycle(c: WorkerChannel): Promise<void> {
  if (c.usable && idle.length < MAX_IDLE_WORKERS) idle.push(c);
  else await c.terminate();
}

export class WorkerSession {
  private released = false;

  private constructor(
    private readonly channel: WorkerChannel,
    readonly inputMetadata: readonly InferenceSession.ValueMetadata[],
    readonly outputMetadata: readonly InferenceSession.ValueMetadata[],
  ) {}

  /**
   * Creates the session in a worker: rejects with a `SessionLoadError` carrying onnxruntime's
   * message when it refuses the bytes, with another error when the worker fails.
   */
  static async create(bytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<WorkerSession> {
    const c = channel();
    let reply: WorkerReply;
    try {
      reply = await c.request({ kind: 'load', bytes, options });
    } catch (err) {
      await c.terminate();
      throw err;
    }
    if (reply.kind === 'ready') return new WorkerSession(c, reply.inputMetadata, reply.outputMetadata);
    await recycle(c);
    throw reply.kind === 'load-failed'
      ? new SessionLoadError(reply.message)
      : new Error(`unexpected ${reply.kind}`);
  }

  /** Runs the session on `data` (`dims`, row-major) and answers the fetched outputs. */
  async run(
    input: string,
    data: Float32Array,
    dims: readonly number[],
    fetches: readonly string[],
  ): Promise<Record<string, OutputTensor>> {
    // Its worker may serve another model by now.
    if (this.released) throw new Error('the session is released');
    // One copy of just the batch's values, moved to the worker: the caller may hold a view into a
    // larger buffer of its own (a structured clone would copy all of that buffer).
    const values = data.slice();
    const reply = await this.channel.request({ kind: 'run', input, data: values, dims, fetches }, [
      values.buffer,
    ]);
    if (reply.kind === 'result') return reply.outputs;
    throw new Error(reply.kind === 'failed' ? reply.message : `unexpected ${reply.kind}`);
  }

  /** Whether the session's worker stopped (it cannot score any more; load the model again). */
  get failed(): boolean {
    return !this.channel.usable;
  }

  /** Test-only: ends the worker as a crash would. */
  async crashWorker(): Promise<void> {
    await this.channel.crash();
  }

  /** Releases the session; its worker waits for the next load, or ends. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.channel.request({ kind: 'release' });
    } catch {
      // The worker failed: there is no session left to release.
    }
    await recycle(this.channel);
  }
}
