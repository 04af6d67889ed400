/**
 * The worker thread that owns one onnxruntime session (started by worker-session.ts).
 * onnxruntime-node creates sessions and runs them synchronously on the calling thread, so here
 * they block this thread and never the service's event loop.
 *
 * Imports nothing of the project: under the tests, Node loads this file as TypeScript with its
 * types stripped, which resolves no `./x.js` import to `x.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

export interface SessionWorkerData {
  bytes: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
}

export interface RunRequest {
  kind: 'run';
  id: number;
  input: string;
  data: Float32Array;
  dims: readonly number[];
  fetches: readonly string[];
}

export interface ReleaseRequest {
  kind: 'release';
  id: number;
}

/** An output tensor as it crosses threads: the fields the decoders read. */
export interface OutputTensor {
  type: string;
  dims: readonly number[];
  /** Elements in all (the product of `dims`). */
  size: number;
  data: ArrayLike<unknown> & object;
}

export type WorkerMessage =
  | {
      kind: 'ready';
      inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
      outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
    }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, OutputTensor> }
  | { kind: 'failed'; id: number; message: string }
  | { kind: 'released'; id: number };

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function serve(port: NonNullable<typeof parentPort>, init: SessionWorkerData): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.bytes, init.options);
  } catch (err) {
    port.postMessage({ kind: 'load-failed', message: messageOf(err) } satisfies WorkerMessage);
    return;
  }
  const { inputMetadata, outputMetadata } = session;
  port.postMessage({ kind: 'ready', inputMetadata, outputMetadata } satisfies WorkerMessage);
  port.on('message', (request: RunRequest | ReleaseRequest) => {
    if (request.kind === 'release') {
      void session.release().finally(() => port.postMessage({ kind: 'released', id: request.id }));
      return;
    }
    void run(session, request).then(
      ({ message, transfer }) => port.postMessage(message, transfer),
      (err: unknown) => port.postMessage({ kind: 'failed', id: request.id, message: messageOf(err) }),
    );
  });
}

async function run(session: ort.InferenceSession, request: RunRequest) {
  const feeds = { [request.input]: new ort.Tensor('float32', request.data, [...request.dims]) };
  const results = await session.run(feeds, [...request.fetches]);
  const outputs: Record<string, OutputTensor> = {};
  // The outputs' buffers are moved to the caller, not copied (a string tensor's array is cloned).
  const transfer: ArrayBuffer[] = [];
  for (const [name, tensor] of Object.entries(results)) {
    const data = tensor.data as OutputTensor['data'];
    outputs[name] = { type: tensor.type, dims: tensor.dims, size: tensor.size, data };
    if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
  }
  const message: WorkerMessage = { kind: 'result', id: request.id, outputs };
  return { message, transfer };
}

if (parentPort) void serve(parentPort, workerData as SessionWorkerData);
