import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { triggers, type ListedTrigger } from '../../src/triggers/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { messageCount, put, readTopic, storedTriggers, waitForModel } from '../support/triggers.js';
import { FEATURES } from '../../src/simulator/data.js';

/**
 * The NannyML California housing data (test/fixtures/drift/README.md): its location features drift
 * in every month of the analysis period against the reference period. Monthly evaluation windows.
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures/drift');
const csv = (name: string) =>
  parse<Record<string, string>>(readFileSync(path.join(fixtures, name)), { columns: true });
const utc = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);

async function listed(service: TestService, query = 'model=california'): Promise<ListedTrigger[]> {
  const response = await service.get(`/api/v1/retrain-triggers?${query}`);
  expect(response.status).toBe(200);
  return (response.body as { triggers: ListedTrigger[] }).triggers;
}

async function evaluate(service: TestService) {
  await service.use(drift).evaluator.runOnce();
  return service.use(triggers).evaluator.runOnce();
}

describe('retrain triggers on the California housing data', () => {
  it('a drift policy fires once with its evidence; a replay publishes nothing new; the cooldown holds', async () => {
    const service = await startTestService({ MODELWATCH_RETRAIN_INTERVAL_MS: '1000' });
    const topic = service.config.topics.retrain;
    const analysis = csv('california_housing_analysis.csv');
    const predictions = analysis.map((r) => ({
      prediction_id: `c-${r['id']}`,
      model_id: 'california',
      model_version: '1',
      timestamp: utc(r['timestamp']!),
      features: Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
      prediction: Number(r['y_pred']),
      score: Number(r['y_pred_proba']),
    }));
    await produce(service.config.topics.predictions, predictions, (i) => `c-${i}`);
    await waitFor('the analysis period stored', async () => {
      const [row] = await service.rows<{ p: number }>('SELECT count() AS p FROM predictions FINAL');
      return row?.p === analysis.length ? true : undefined;
    });

    await waitForModel(service, 'california');
    const retrain = { drift: { columns: ['Latitude'], consecutive_windows: 2 }, cooldown: '365d' };
    const policy = await put(service, '/api/v1/models/california/policy', {
      drift: { evaluation_window: 'month', allowed_lateness: '0s' },
      retrain,
    });
    expect(policy.status).toBe(200);
    expect(policy.body['retrain']).toEqual(retrain);
    const reference = csv('california_housing_reference.csv').map((r) => ({
      ...Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
      prediction: Number(r['y_pred']),
    }));
    expect(
      (await put(service, '/api/v1/models/california/versions/1/reference', { rows: reference })).status,
    ).toBe(200);

    // Jun 2021 – Apr 2022 are complete (the data ends 2022-05-09); Latitude drifts in each.
    await evaluate(service);
    const stored = await storedTriggers(service, 'california');
    expect(stored.map((t) => [t.reason, t.window])).toEqual([
      ['drift', { start: '2021-07-01T00:00:00.000Z', end: '2021-08-01T00:00:00.000Z' }],
    ]);
    const [trigger] = stored;
    const evidence = trigger!.evidence as {
      windows: {
        start: string;
        columns: { column: string; method: string; statistic: number; threshold: number }[];
      }[];
    };
    expect(evidence.windows.map((w) => w.start)).toEqual([
      '2021-06-01T00:00:00.000Z',
      '2021-07-01T00:00:00.000Z',
    ]);
    for (const w of evidence.windows) {
      expect(w.columns.map((c) => c.column)).toEqual(['Latitude']);
      expect(w.columns[0]!.method).toBe('wasserstein');
      expect(w.columns[0]!.statistic).toBeGreaterThanOrEqual(w.columns[0]!.threshold);
    }
    // The evidence is the stored drift window's statistic, exactly.
    const [june] = await service.rows<{ statistic: number }>(
      `SELECT statistic FROM drift_results FINAL WHERE model_id = 'california' AND column = 'Latitude' AND window_start = '2021-06-01 00:00:00'`,
    );
    expect(evidence.windows[0]!.columns[0]!.statistic).toBe(june!.statistic);

    const published = await waitFor('the trigger published', async () => {
      const [t] = await listed(service);
      return t?.published ? t : undefined;
    });
    const messages = await readTopic(topic);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      key: 'california',
      partition: published.partition,
      offset: published.offset,
    });
    expect(messages[0]!.value).toEqual({ ...trigger, policy: retrain });
    expect(Object.keys(messages[0]!.value)).toEqual([
      'trigger_id',
      'model_id',
      'model_version',
      'reason',
      'window',
      'evidence',
      'policy',
      'created_at',
    ]);
    expect(await service.use(triggers).evaluator.runOnce()).toEqual([]);
    const counted = async () => (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(await counted()).toContain(
      'modelwatch_retrain_triggers_total{model="california",reason="drift"} 1',
    );

    // The same traffic again, and the derived state rebuilt from it: the same trigger, found on the topic.
    await produce(service.config.topics.predictions, predictions, (i) => `c-${i}`);
    await waitFor('the replay stored', async () => {
      const [row] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions');
      return row !== undefined && row.n >= 2 * predictions.length ? true : undefined;
    });
    for (const table of ['drift_results', 'retrain_triggers', 'retrain_trigger_deliveries'])
      await service.platform.db.client.command({ query: `TRUNCATE TABLE ${table}` });
    await evaluate(service);
    expect((await storedTriggers(service, 'california')).map((t) => t.trigger_id)).toEqual([
      trigger!.trigger_id,
    ]);
    await waitFor('the replayed trigger recognised as published', async () => {
      const [t] = await listed(service);
      return t?.published ? t : undefined;
    });
    expect(await messageCount(topic)).toBe(1);
    expect(await counted()).toContain(
      'modelwatch_retrain_triggers_total{model="california",reason="drift"} 1',
    );

    // A 90-day cooldown: Jul 2021, then the first window ending ≥ 90 days later (Oct 2021, Jan 2022);
    // Apr 2022 ends 89 days after Jan's end.
    expect(
      (await put(service, '/api/v1/models/california/policy', { retrain: { ...retrain, cooldown: '90d' } }))
        .status,
    ).toBe(200);
    await service.use(triggers).evaluator.runOnce();
    expect((await storedTriggers(service, 'california')).map((t) => t.window.start).slice(1)).toEqual([
      '2021-10-01T00:00:00.000Z',
      '2022-01-01T00:00:00.000Z',
    ]);
    await waitFor('three triggers published', async () => {
      const all = await listed(service);
      return all.length === 3 && all.every((t) => t.published) ? true : undefined;
    });
    expect(
      (await readTopic(topic)).map((m) => (m.value['window'] as { start: string }).start).sort(),
    ).toEqual(['2021-07-01T00:00:00.000Z', '2021-10-01T00:00:00.000Z', '2022-01-01T00:00:00.000Z']);
    expect(await service.use(triggers).evaluator.runOnce()).toEqual([]);
    expect(await counted()).toContain(
      'modelwatch_retrain_triggers_total{model="california",reason="drift"} 3',
    );
    // The list filters by window start.
    expect(
      (await listed(service, 'model=california&from=2021-09-01&to=2022-01-01')).map((t) => t.window.start),
    ).toEqual(['2021-10-01T00:00:00.000Z']);
    // A page ends with `next` while more match; following it gives the rest, and the last page none.
    const page = async (query: string) => {
      const response = await service.get(`/api/v1/retrain-triggers?model=california&${query}`);
      expect(response.status, query).toBe(200);
      return response.body as { triggers: ListedTrigger[]; next?: string };
    };
    const first = await page('limit=2');
    expect(first.triggers).toEqual((await listed(service)).slice(0, 2));
    const second = await page(`limit=2&cursor=${first.next ?? 'missing'}`);
    expect(second).toEqual({ triggers: (await listed(service)).slice(2) });
    expect(await page('limit=3')).toEqual({ triggers: await listed(service) });
    // Forged cursors, also well formed with a window start ClickHouse cannot hold: a 400, never a 500.
    const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [
      'WzEsMl0',
      'not base64 json',
      token([Number.MAX_SAFE_INTEGER, 'california', 'drift', '1', 'x']),
      token([1.5, 'california', 'drift', '1', 'x']),
      token([0, 'california', 'drift', '1', 7]),
    ]) {
      const forged = await service.get(`/api/v1/retrain-triggers?cursor=${encodeURIComponent(cursor)}`);
      expect([forged.status, (forged.body as { message: string }).message], cursor).toEqual([
        400,
        'querystring/cursor: not a cursor this route returned',
      ]);
    }
  }, 180_000);
});
