/**
 * A worker thread that owns at most one onnxruntime session at a time (driven by
 * worker-session.ts). onnxruntime-node creates sessions and runs them synchronously on the calling
 * thread, so here they block this thread and never the service's event loop. A worker outlives
 * its session: released, or refused by onnxruntime, it waits for the next `load` (starting one
 * costs ~0.2 s, most of it onnxruntime's set-up in a new isolate).
 *
 * Imports nothing of the project: under the tests, Node loads this file as TypeScript with its
 * types stripped, which resolves no `./x.js` import to `x.ts`.
 */
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

export type WorkerRequest =
  | { kind: 'load'; id: number; bytes: Uint8Array; options: ort.InferenceSession.SessionOptions }
  | {
      kind: 'run';
      id: number;
      input: string;
      data: Float32Array;
      dims: readonly number[];
      fetches: readonly string[];
    }
  | { kind: 'release'; id: number };

/** An output tensor as it crosses threads: the fields the decoders read. */
export interface OutputTensor {
  type: string;
  dims: readonly number[];
  /** Elements in all (the product of `dims`). */
  size: number;
  data: ArrayLike<unknown> & object;
}

export type WorkerReply =
  | {
      kind: 'ready';
      id: number;
      inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
      outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
    }
  | { kind: 'load-failed'; id: number; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, OutputTensor> }
  | { kind: 'failed'; id: number; message: string }
  | { kind: 'released'; id: number };

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

let session: ort.InferenceSession | undefined;

/** Answers one request; a failure is a `failed` reply (the listener below catches the rest). */
async function handle(request: WorkerRequest): Promise<{ reply: WorkerReply; transfer?: ArrayBuffer[] }> {
  const { id } = request;
  if (request.kind === 'load') {
    try {
      session = await ort.InferenceSession.create(request.bytes, request.options);
    } catch (err) {
      return { reply: { kind: 'load-failed', id, message: messageOf(err) } };
    }
    const { inputMetadata, outputMetadata } = session;
    return { reply: { kind: 'ready', id, inputMetadata, outputMetadata } };
  }
  if (request.kind === 'release') {
    const released = session;
    session = undefined;
    // A session onnxruntime cannot release is dropped all the same: this worker serves the next.
    await released?.release().catch(() => undefined);
    return { reply: { kind: 'released', id } };
  }
  try {
    if (!session) throw new Error('no session is loaded');
    return await run(session, request);
  } catch (err) {
    return { reply: { kind: 'failed', id, message: messageOf(err) } };
  }
}

async function run(current: ort.InferenceSession, request: Extract<WorkerRequest, { kind: 'run' }>) {
  const feeds = { [request.input]: new ort.Tensor('float32', request.data, [...request.dims]) };
  const results = await current.run(feeds, [...request.fetches]);
  const outputs: Record<string, OutputTensor> = {};
  // The outputs' buffers are moved to the caller, not copied (a string tensor's array is cloned).
  const transfer: ArrayBuffer[] = [];
  for (const [name, tensor] of Object.entries(results)) {
    const data = tensor.data as OutputTensor['data'];
    outputs[name] = { type: tensor.type, dims: tensor.dims, size: tensor.size, data };
    if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
  }
  const reply: WorkerReply = { kind: 'result', id: request.id, outputs };
  return { reply, transfer };
}

const port = parentPort;
port?.on('message', (request: WorkerRequest) => {
  void handle(request)
    .then(({ reply, transfer }) => port.postMessage(reply, transfer ?? []))
    .catch((err: unknown) => {
      // An answer that cannot be sent (an output that does not clone) fails its request only.
      port.postMessage({ kind: 'failed', id: request.id, message: messageOf(err) } satisfies WorkerReply);
    });
});
