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

/**
 * A boolean feature (SPEC 3.2's `"has_card": true`, stored as 'true'/'false') read by a
 * challenger that declares it a number: 1 for true, 0 for false, as the core's object path reads
 * it. Before, every such row failed as `wrong_type`.
 */
describe('shadow scoring of a boolean feature declared as a number', () => {
  const CARDS = 120;
  const WORDS = 6;
  const hasCard = (i: number) => i % 3 !== 0;

  it('scores true as 1 and false as 0; a string there is still wrong_type', async () => {
    const definition = createShadow({ refreshMs: 500 });
    const service = await startTestService(
      {},
      { capabilities: capabilities.map((c) => (c.name === 'shadow' ? definition : c)) },
    );
    // p = sigmoid(4 · has_card − 2): class 1 exactly when the card is there.
    const registered = await send(service, 'POST', '/api/v1/models/cards/versions', {
      version: '2',
      stage: 'shadow',
      task: 'binary_classification',
      positive_class: '1',
      classes: ['0', '1'],
      features: [
        { name: 'income', type: 'number' },
        { name: 'has_card', type: 'number' },
        { name: 'region', type: 'string' },
      ],
      artifact: {
        format: 'onnx',
        base64: linearClassifierOnnx({ weights: [0, 4], bias: -2 }).toString('base64'),
      },
      training_data: { uri: 'test://cards', sha256: 'd'.repeat(64) },
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    await service.use(definition).refresh();

    const event = (i: number, card: boolean | string) => ({
      prediction_id: `c-${i}`,
      model_id: 'cards',
      model_version: '1',
      timestamp: T0 + i * 1000,
      features: { age: 42, income: 52000.5 + i, region: 'north', has_card: card },
      prediction: card === true ? 1 : 0,
      score: card === true ? 0.83 : 0.17,
    });
    await produce(service.config.topics.predictions, [
      ...Array.from({ length: CARDS }, (_, i) => event(i, hasCard(i))),
      ...Array.from({ length: WORDS }, (_, i) => event(CARDS + i, 'yes')),
    ]);
    await waitFor(
      'every prediction shadow-scored',
      async () => {
        const [c] = await service.rows<{ n: string }>(
          "SELECT count() AS n FROM shadow_scores FINAL WHERE model_id = 'cards'",
        );
        return Number(c?.n) === CARDS + WORDS ? true : undefined;
      },
      90_000,
    );
    const stored = await service.rows<{ card: string; label: string; failure: string; p: number; n: string }>(
      `SELECT p.features_str['has_card'] AS card, s.label AS label, s.failure AS failure,
              any(s.score) AS p, count() AS n
       FROM shadow_scores AS s FINAL
       JOIN (SELECT DISTINCT prediction_id, features_str FROM predictions WHERE model_id = 'cards') AS p
         ON p.prediction_id = s.prediction_id
       WHERE s.model_id = 'cards' GROUP BY card, label, failure ORDER BY card`,
    );
    const cards = Array.from({ length: CARDS }, (_, i) => hasCard(i)).filter(Boolean).length;
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    expect(stored.map((s) => [s.card, s.label, s.failure, s.p, Number(s.n)])).toEqual([
      ['false', '0', '', expect.closeTo(sigmoid(-2), 6), CARDS - cards],
      ['true', '1', '', expect.closeTo(sigmoid(2), 6), cards],
      ['yes', '', 'wrong_type', null, WORDS],
    ]);

    const response = await service.get(
      '/api/v1/models/cards/shadow?from=2026-01-01&to=2026-02-01&bucket=month',
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const [bucket] =
      (response.body as ShadowReport).challengers.find((c) => c.version === '2')?.buckets ?? [];
    expect([bucket?.scored, bucket?.failed, bucket?.agreement]).toEqual([CARDS, WORDS, 1]);
  }, 180_000);
});
