/**
 * The segment loop's cost (src/segments/README.md "Cost"), behind `npm run test:long`:
 * COST_ROWS predictions a day (default 100,000) over two days, 10 numerical features and a region
 * of 12 values (10 segments + other), f0 shifted by 0.1 on day 1. Prints wall and CPU seconds
 * of the population's drift of one window and of one segment-loop run over both windows, and
 * checks what the run stored.
 */
import { expect, it } from 'vitest';
import { mulberry32 } from '../../src/change-detection/streams.js';
import { drift } from '../../src/drift/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

const N = Number(process.env['COST_ROWS'] ?? 100_000);
const T0 = Date.UTC(2026, 7, 1);
const DAY = 86_400_000;
it('cost', async () => {
  const service = await startTestService();
  const next = mulberry32(5);
  const rows = [];
  for (let day = 0; day < 2; day++)
    for (let i = 0; i < N; i++) {
      const f: Record<string, unknown> = { region: `r${Math.floor(next() * 12)}` };
      for (let k = 0; k < 10; k++) f[`f${k}`] = next() + (day === 1 && k === 0 ? 0.1 : 0);
      rows.push({
        prediction_id: `c-${day}-${i}`,
        model_id: 'cost',
        model_version: '1',
        timestamp: T0 + day * DAY + Math.floor((i * DAY) / N),
        features: f,
        prediction: 0,
      });
    }
  rows.push({
    prediction_id: 'late1',
    model_id: 'cost',
    model_version: '1',
    timestamp: T0 + 2 * DAY + 7_200_000,
    features: { region: 'r1' },
    prediction: 0,
  });
  rows.push({
    prediction_id: 'late2',
    model_id: 'cost',
    model_version: '1',
    timestamp: T0 + 2 * DAY + 7_200_001,
    features: { region: 'r1' },
    prediction: 0,
  });
  await produce(service.config.topics.predictions, rows, (i) => `c${i}`);
  await waitFor(
    'stored',
    async () => {
      const [r] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
      return Number(r?.n) === rows.length ? true : undefined;
    },
    300_000,
  );
  const auth = { authorization: `Bearer ${service.config.api.adminKey ?? ''}` };
  // Reference first; the policy (which declares the segmentation) after the population windows are stored.
  await service.app.inject({
    method: 'PUT',
    url: '/api/v1/models/cost/versions/1/reference',
    headers: auth,
    payload: { from: T0, to: T0 + DAY },
  });
  await service.app.inject({
    method: 'PUT',
    url: '/api/v1/models/cost/policy',
    headers: auth,
    payload: { drift: { evaluation_window: '1d' } },
  });
  const cap = service.use(drift);
  await cap.evaluator.runOnce();
  let cpu = process.cpuUsage();
  let t = performance.now();
  await cap.service.evaluate(
    { modelId: 'cost', version: '1' },
    (await cap.service.reference({ modelId: 'cost', version: '1' }))!,
    await cap.service.settings('cost'),
    { from: T0 + DAY, to: T0 + 2 * DAY, window: undefined },
  );
  let c = process.cpuUsage(cpu);
  console.log(
    `population drift of one window (${N} rows): wall ${((performance.now() - t) / 1000).toFixed(2)} s, cpu ${((c.user + c.system) / 1e6).toFixed(2)} s`,
  );
  await service.app.inject({
    method: 'PUT',
    url: '/api/v1/models/cost/policy',
    headers: auth,
    payload: {
      drift: { evaluation_window: '1d' },
      segments: { max_segments: 10, evaluate: ['feature:region'] },
    },
  });
  cpu = process.cpuUsage();
  t = performance.now();
  const stored = await cap.segmentEvaluator.runOnce();
  c = process.cpuUsage(cpu);
  expect(stored).toHaveLength(22);
  const day1 = stored.filter((s) => s.start === new Date(T0 + DAY).toISOString());
  expect(day1).toHaveLength(11);
  for (const s of day1)
    expect(
      s.drift.columns.filter((col) => col.drifted && col.role === 'feature').map((col) => col.column),
    ).toEqual(['f0']);
  console.log(
    `segment loop: ${stored.length} segment windows (${new Set(stored.map((s) => s.start)).size} windows): wall ${((performance.now() - t) / 1000).toFixed(2)} s, cpu ${((c.user + c.system) / 1e6).toFixed(2)} s`,
  );
}, 900_000);
