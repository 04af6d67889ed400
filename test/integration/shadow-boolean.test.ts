import { describe, expect, it } from 'vitest';
import { capabilities } from '../../src/service/capabilities.js';
import { createShadow, type ShadowReport } from '../../src/shadow/index.js';
import { produce, waitFor } from '../support/harness.js';
import { linearClassifierOnnx } from '../support/onnx-linear.js';
import { send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

/**
 * Production sends boolean predictions (SPEC 3.2; stored as 'true'/'false'), and a binary
 * challenger's classes are '0'/'1' (a positive class 'true' is stored as '1'): the two agree
 * whenever they name the same class, as the metrics compare them.
 */
const N = 200;
const T0 = Date.UTC(2026, 0, 1);
/** The challenger's only signal: class 1 exactly when `x` is positive. */
const x = (i: number) => (i % 3 === 0 ? -1 - (i % 7) : 1 + (i % 5));

describe('shadow agreement with boolean production predictions', () => {
  it('counts true as class 1 and false as class 0', async () => {
    const definition = createShadow({ refreshMs: 500 });
    const service = await startTestService(
      {},
      { capabilities: capabilities.map((c) => (c.name === 'shadow' ? definition : c)) },
    );
    const registered = await send(service, 'POST', '/api/v1/models/flags/versions', {
      version: '2',
      stage: 'shadow',
      task: 'binary_classification',
      positive_class: 'true',
      classes: ['0', '1'],
      features: [
        { name: 'x', type: 'number' },
        { name: 'y', type: 'number' },
      ],
      artifact: {
        format: 'onnx',
        base64: linearClassifierOnnx({ weights: [4, 0], bias: 0 }).toString('base64'),
      },
      training_data: { uri: 'test://flags', sha256: 'c'.repeat(64) },
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    await service.use(definition).refresh();

    await produce(
      service.config.topics.predictions,
      Array.from({ length: N }, (_, i) => ({
        prediction_id: `b-${i}`,
        model_id: 'flags',
        model_version: '1',
        timestamp: T0 + i * 1000,
        features: { x: x(i), y: i },
        prediction: x(i) > 0,
        score: x(i) > 0 ? 0.9 : 0.1,
      })),
    );
    await waitFor(
      'every prediction shadow-scored',
      async () => {
        const [c] = await service.rows<{ n: string }>('SELECT count() AS n FROM shadow_scores FINAL');
        return Number(c?.n) === N ? true : undefined;
      },
      90_000,
    );
    // Not vacuous: production's predictions are stored as booleans, the challenger's labels as classes.
    const stored = await service.rows<{ production_prediction: string; label: string; n: string }>(
      `SELECT production_prediction, label, count() AS n FROM shadow_scores FINAL
       GROUP BY production_prediction, label ORDER BY production_prediction`,
    );
    expect(stored.map((s) => [s.production_prediction, s.label, Number(s.n)])).toEqual([
      ['false', '0', Array.from({ length: N }, (_, i) => x(i) <= 0).filter(Boolean).length],
      ['true', '1', Array.from({ length: N }, (_, i) => x(i) > 0).filter(Boolean).length],
    ]);

    const response = await service.get(
      '/api/v1/models/flags/shadow?from=2026-01-01&to=2026-02-01&bucket=month',
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const [bucket] =
      (response.body as ShadowReport).challengers.find((c) => c.version === '2')?.buckets ?? [];
    expect([bucket?.scored, bucket?.failed, bucket?.agreement]).toEqual([N, 0, 1]);
  }, 180_000);
});
