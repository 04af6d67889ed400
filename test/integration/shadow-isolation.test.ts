import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { capabilities } from '../../src/service/capabilities.js';
import { createShadow, type ShadowReport } from '../../src/shadow/index.js';
import { produce, waitFor, waitForGroupAtEnd } from '../support/harness.js';
import { californiaBody, CALIFORNIA_FEATURES, send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

/**
 * A challenger that throws on every batch and one that hangs (until the test lets it go, then
 * 200 ms per batch): the collectors' commits do not wait for them, failures are counted, and a
 * healthy challenger's bad rows are counted with the core's reasons.
 */

type Row = Record<(typeof CALIFORNIA_FEATURES)[number], string>;
const rows = parse<Row>(
  readFileSync(new URL('../fixtures/drift/california_housing_analysis.csv', import.meta.url)),
  { columns: true, skip_empty_lines: true },
);
const N = 8_000;
const T0 = Date.UTC(2026, 0, 1);

function events(first: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    const r = rows[i % rows.length] as Row;
    return {
      prediction_id: `p-${i}`,
      model_id: 'california',
      model_version: '1',
      timestamp: T0 + i * 1000,
      features: Object.fromEntries(CALIFORNIA_FEATURES.map((f) => [f, Number(r[f])])),
      prediction: i % 2,
      score: (i % 100) / 100,
    };
  });
}

/** Produces and waits until the collectors committed everything: ms. */
async function ingest(
  service: Awaited<ReturnType<typeof startTestService>>,
  values: Record<string, unknown>[],
): Promise<number> {
  const started = performance.now();
  await produce(service.config.topics.predictions, values);
  await waitForGroupAtEnd(service.config.ingest.consumerGroup, service.config.topics.predictions, 60_000);
  return performance.now() - started;
}

describe('shadow scoring is off the collectors’ commit path', () => {
  it('the collectors commit everything while a challenger throws and another hangs; failures counted', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowCalls: number[] = [];
    const definition = createShadow({
      refreshMs: 500,
      hooks: {
        async beforeScore({ version }) {
          if (version === '3')
            throw Object.assign(new Error('this challenger always fails'), { code: 'TEST_THROW' });
          if (version === '4') {
            slowCalls.push(Date.now());
            await gate;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        },
      },
    });
    const service = await startTestService(
      {},
      { capabilities: capabilities.map((c) => (c.name === 'shadow' ? definition : c)) },
    );

    const baseline = await ingest(service, events(0, N));

    for (const version of ['3', '4', '5'])
      expect(
        (await send(service, 'POST', '/api/v1/models/california/versions', californiaBody({ version })))
          .status,
      ).toBe(201);
    await service.use(definition).refresh();
    const hostile = [
      { MedInc: undefined },
      { MedInc: null },
      { MedInc: '5.2' },
      // Not a boolean: that is 1/0 for a number feature (shadow-boolean.test.ts).
      { MedInc: 'north' },
      { HouseAge: 1e39 },
    ].map((patch, k) => {
      const e = events(2 * N + k, 1)[0] as { features: Record<string, unknown> };
      return { ...e, features: { ...e.features, ...patch } };
    });
    // Challengers score stored rows: the hostile events go first, and the hanging challenger is
    // holding their batch during the whole measured ingest.
    await ingest(service, hostile);
    await waitFor('the hanging challenger holds its first batch', () =>
      Promise.resolve(slowCalls.length > 0 ? true : undefined),
    );
    // ingest() fails unless the group commits to the end within 60 s, and the gate opens only
    // after it: a commit path that waited for the hanging challenger would never get there.
    const withChallengers = await ingest(service, events(N, N));
    // The hanging challenger is still holding its first batch while the collectors are done.
    expect(slowCalls.length).toBe(1);
    const [stored] = await service.rows<{ n: string }>(
      "SELECT count() AS n FROM predictions FINAL WHERE model_id = 'california'",
    );
    expect(Number(stored?.n)).toBe(2 * N + hostile.length);
    // Figures only: the two runs share the machine with whatever else runs, so their ratio is no check.
    console.log(
      `ingest of ${N} predictions: ${Math.round(baseline)} ms without challengers, ${Math.round(withChallengers)} ms with a throwing and a hanging one`,
    );

    release();
    const report = await waitFor(
      'every challenger through the second batch',
      async () => {
        const r = (
          await service.get('/api/v1/models/california/shadow?from=2026-01-01&to=2026-02-01&bucket=month')
        ).body as ShadowReport;
        const total = (v: string) =>
          r.challengers.find((c) => c.version === v)?.buckets.reduce((a, b) => a + b.scored + b.failed, 0) ??
          0;
        return ['3', '4', '5'].every((v) => total(v) === N + hostile.length) ? r : undefined;
      },
      120_000,
    );
    const bucket = (v: string) => report.challengers.find((c) => c.version === v)?.buckets[0];
    expect([bucket('3')?.scored, bucket('3')?.failed, bucket('3')?.agreement]).toEqual([
      0,
      N + hostile.length,
      null,
    ]);
    expect([bucket('4')?.scored, bucket('4')?.failed]).toEqual([N, hostile.length]);
    expect([bucket('5')?.scored, bucket('5')?.failed]).toEqual([N, hostile.length]);
    const failures = await service.rows<{ failure: string; n: string }>(
      "SELECT failure, count() AS n FROM shadow_scores FINAL WHERE challenger_version = '5' AND failed GROUP BY failure ORDER BY failure",
    );
    expect(failures.map((f) => [f.failure, Number(f.n)])).toEqual([
      ['missing', 2],
      // 1e39: beyond float32, the core's out_of_range (not the not_finite its Float32 would read as).
      ['out_of_range', 1],
      ['wrong_type', 2],
    ]);

    const metrics = await service.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect(metrics.body).toContain(
      `modelwatch_shadow_failures_total{model="california",version="3",reason="TEST_THROW"} ${N + hostile.length}`,
    );
    expect(metrics.body).toContain(`modelwatch_shadow_scored_total{model="california",version="5"} ${N}`);
  }, 240_000);
});
