import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  InferenceError,
  type InferenceCore,
  type OnnxModel,
  type ScoreResult,
} from '../../../src/inference/index.js';
import type { ArtifactStore, ModelVersionRecord } from '../../../src/models/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { graphColumns, ShadowScorer, type ShadowHooks } from '../../../src/shadow/scorer.js';
import { createShadowMetrics } from '../../../src/shadow/shadow-metrics.js';
import type { StoredBatch } from '../../../src/shadow/stored-batch.js';

/**
 * Which errors fail a batch's rows (the challenger's own: its graph, metadata or artifact) and
 * which are thrown for the feed to retry without moving its cursor (ClickHouse, shutdown); and one
 * load per batch. A fake core: this is the scorer's control flow only.
 */

const challenger = {
  model_id: 'm',
  model_version: '2',
  artifact_sha256: 'abc',
  feature_schema: '{}',
} as ModelVersionRecord;

const ROWS = 3;
const batch = (): StoredBatch => ({
  rows: ROWS,
  values: new Float32Array(ROWS),
  refused: new Map(),
  head: Buffer.alloc(0),
  starts: new Uint32Array(ROWS),
  ends: new Uint32Array(ROWS),
  lastIngestedAt: 0,
});

/** A model of one column whose scoring answers `score` (a result, or an error thrown). */
function fakeModel(score: () => Promise<ScoreResult>): OnnxModel {
  return {
    metadata: { columns: [{ name: 'x', type: 'number' }] },
    scoreMatrix: score,
  } as unknown as OnnxModel;
}

const scoredOk = (): Promise<ScoreResult> =>
  Promise.resolve({
    rows: ROWS,
    scored: ROWS,
    labels: ['1', '0', '1'],
    scores: Float64Array.of(0.9, 0.1, 0.8),
    probabilities: new Float32Array(0),
    failures: [],
  } as unknown as ScoreResult);

interface Setup {
  stored?: () => Promise<{ bytes: Buffer } | undefined>;
  load?: () => Promise<OnnxModel>;
  hooks?: ShadowHooks;
}

function setup({ stored = () => Promise.resolve({ bytes: Buffer.alloc(1) }), load, hooks }: Setup) {
  const calls = { get: 0, load: 0 };
  const core = {
    keys: [],
    get: () => {
      calls.get += 1;
      return undefined;
    },
    load: () => {
      calls.load += 1;
      return load ? load() : Promise.resolve(fakeModel(scoredOk));
    },
  } as unknown as InferenceCore;
  const scorer = new ShadowScorer({
    core,
    artifacts: { get: stored } as unknown as ArtifactStore,
    metrics: createShadowMetrics(new Registry()),
    logger: createLogger('silent'),
    hooks,
  });
  return { scorer, calls };
}

const failures = (failed: ReadonlyMap<number, string>) => [...failed.values()];

describe('ShadowScorer: the challenger’s own errors fail rows, passing ones are thrown', () => {
  it('throws a ClickHouse error while reading the artifact (the batch is retried, not failed)', async () => {
    const memory = Object.assign(new Error('Memory limit exceeded'), { code: 'CLICKHOUSE_QUERY' });
    const { scorer } = setup({ stored: () => Promise.reject(memory) });
    await expect(scorer.load(challenger)).rejects.toBe(memory);
  });

  it('throws MODEL_CLOSED from a load (the core closed at shutdown)', async () => {
    const closed = new InferenceError('MODEL_CLOSED', 'the inference core is closed');
    const { scorer } = setup({ load: () => Promise.reject(closed) });
    await expect(scorer.load(challenger)).rejects.toBe(closed);
  });

  it('throws MODEL_CLOSED and errors that are not the core’s from scoring', async () => {
    for (const err of [new InferenceError('MODEL_CLOSED', 'closed'), new Error('not an inference error')]) {
      const { scorer } = setup({ load: () => Promise.resolve(fakeModel(() => Promise.reject(err))) });
      const loaded = await scorer.load(challenger);
      await expect(scorer.scoreBatch(challenger, loaded, batch())).rejects.toBe(err);
    }
  });

  it('fails every row with the code of a refused graph, a missing artifact, a failed run or the hook', async () => {
    const cases: [string, Setup][] = [
      ['GRAPH_MISMATCH', { load: () => Promise.reject(new InferenceError('GRAPH_MISMATCH', 'no')) }],
      ['ARTIFACT_MISSING', { stored: () => Promise.resolve(undefined) }],
      [
        'RUN_FAILED',
        {
          load: () =>
            Promise.resolve(fakeModel(() => Promise.reject(new InferenceError('RUN_FAILED', 'ort')))),
        },
      ],
      [
        'TEST_THROW',
        {
          hooks: {
            beforeScore() {
              throw Object.assign(new Error('always'), { code: 'TEST_THROW' });
            },
          },
        },
      ],
    ];
    for (const [code, options] of cases) {
      const { scorer } = setup(options);
      const loaded = await scorer.load(challenger);
      const scored = await scorer.scoreBatch(challenger, loaded, batch());
      expect([code, failures(scored.failed)]).toEqual([code, Array(ROWS).fill(code)]);
    }
  });

  it('a challenger that cannot load reads its batch without columns', async () => {
    const { scorer } = setup({ load: () => Promise.reject(new InferenceError('GRAPH_MISMATCH', 'no')) });
    expect(graphColumns(await scorer.load(challenger))).toEqual([]);
  });

  it('scores with the model it was loaded with: one load per batch, none while scoring', async () => {
    const { scorer, calls } = setup({});
    const loaded = await scorer.load(challenger);
    expect(graphColumns(loaded)).toEqual([{ name: 'x', type: 'number' }]);
    const before = { ...calls };
    const scored = await scorer.scoreBatch(challenger, loaded, batch());
    expect([scored.labels, failures(scored.failed)]).toEqual([['1', '0', '1'], []]);
    expect(calls).toEqual(before);
    expect(before).toEqual({ get: 1, load: 1 });
  });
});
