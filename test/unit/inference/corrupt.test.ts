import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isInferenceError,
  loadModel,
  loadModelFile,
  readMetadataProps,
  type InferenceErrorCode,
} from '../../../src/inference/index.js';
import { modelBytes, sidecar, type ModelName } from './models.js';

async function refusal(load: Promise<unknown>): Promise<InferenceErrorCode> {
  const err: unknown = await load.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isInferenceError(err)) throw new Error(`expected an InferenceError, got ${String(err)}`);
  expect(err.retryable).toBe(false);
  return err.code;
}

/** Deterministic bytes (xorshift32), so a failure can be replayed. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('a corrupt artifact is a typed error, never a crash', () => {
  it('random bytes of several sizes: ARTIFACT_INVALID, with or without given metadata', async () => {
    for (const [n, seed] of [
      [1, 1],
      [9, 2],
      [1000, 3],
      [100_000, 4],
    ] as const) {
      expect(await refusal(loadModel({ bytes: randomBytes(n, seed) }))).toBe('ARTIFACT_INVALID');
      expect(
        await refusal(loadModel({ bytes: randomBytes(n, seed), metadata: sidecar('california-logistic') })),
      ).toBe('ARTIFACT_INVALID');
    }
  });

  it('an empty buffer: ARTIFACT_INVALID', async () => {
    expect(await refusal(loadModel({ bytes: new Uint8Array(0) }))).toBe('ARTIFACT_INVALID');
  });

  it.each(['california-logistic', 'california-forest'] as ModelName[])(
    '%s truncated at 20 points: refused, never loaded',
    async (name) => {
      const bytes = modelBytes(name);
      const codes = new Set<InferenceErrorCode>();
      for (let k = 1; k < 20; k++) {
        const cut = Math.floor((bytes.length * k) / 20);
        codes.add(await refusal(loadModel({ bytes: bytes.subarray(0, cut) })));
        codes.add(await refusal(loadModel({ bytes: bytes.subarray(0, cut), metadata: sidecar(name) })));
      }
      // The metadata_props entry is written last, so every cut loses at least part of it or of the graph.
      expect([...codes].every((c) => c === 'ARTIFACT_INVALID' || c === 'METADATA_INVALID')).toBe(true);
      expect(codes.has('ARTIFACT_INVALID')).toBe(true);
    },
  );

  it('one byte flipped in the graph of the forest: refused or loaded and checked, never a crash', async () => {
    const bytes = modelBytes('california-forest');
    for (const at of [10, 100, 1000, 40_000]) {
      const copy = bytes.slice();
      copy[at] = (copy[at] as number) ^ 0xff;
      const outcome = await loadModel({ bytes: copy, metadata: sidecar('california-forest') }).then(
        async (model) => {
          await model.close();
          return 'loaded';
        },
        (err: unknown) => (isInferenceError(err) ? err.code : 'untyped'),
      );
      expect(['loaded', 'ARTIFACT_INVALID', 'GRAPH_MISMATCH', 'METADATA_INVALID']).toContain(outcome);
    }
  });

  it('the protobuf reader refuses truncated bytes itself', () => {
    const bytes = modelBytes('california-logistic');
    expect(readMetadataProps(bytes).has('modelwatch')).toBe(true);
    expect(() => readMetadataProps(bytes.subarray(0, bytes.length - 3))).toThrow(
      expect.objectContaining({ code: 'ARTIFACT_INVALID' }),
    );
    expect(() =>
      readMetadataProps(
        Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
      ),
    ).toThrow(expect.objectContaining({ code: 'ARTIFACT_INVALID' }));
    expect(() => readMetadataProps(Uint8Array.of(0x0b))).toThrow(
      expect.objectContaining({ code: 'ARTIFACT_INVALID' }),
    );
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'modelwatch-inference-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a missing file: ARTIFACT_UNREADABLE naming it', async () => {
    const file = path.join(dir, 'nope.onnx');
    await expect(loadModelFile(file)).rejects.toMatchObject({
      code: 'ARTIFACT_UNREADABLE',
      message: expect.stringContaining(file) as string,
    });
  });

  it('a truncated file on disk: ARTIFACT_INVALID', async () => {
    const file = path.join(dir, 'cut.onnx');
    await writeFile(file, modelBytes('california-forest').subarray(0, 5000));
    expect(await refusal(loadModelFile(file))).toBe('ARTIFACT_INVALID');
  });

  it('over the size limit, as bytes or as a file: ARTIFACT_TOO_LARGE before anything is parsed', async () => {
    const bytes = modelBytes('california-logistic');
    expect(await refusal(loadModel({ bytes }, { maxArtifactBytes: bytes.length - 1 }))).toBe(
      'ARTIFACT_TOO_LARGE',
    );
    const file = path.join(dir, 'big.onnx');
    await writeFile(file, bytes);
    expect(await refusal(loadModelFile(file, { maxArtifactBytes: 100 }))).toBe('ARTIFACT_TOO_LARGE');
  });

  it('a sidecar that is not JSON: METADATA_INVALID naming the file', async () => {
    const file = path.join(dir, 'm.onnx');
    await writeFile(file, modelBytes('california-logistic'));
    await writeFile(path.join(dir, 'm.json'), '{ not json');
    await expect(loadModelFile(file)).rejects.toMatchObject({
      code: 'METADATA_INVALID',
      message: expect.stringContaining('m.json') as string,
    });
  });
});
