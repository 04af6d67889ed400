import { describe, expect, it } from 'vitest';
import { prediction } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import { put } from '../support/triggers.js';

const good = {
  drift: { dataset_drift: true, columns: ['Latitude'], consecutive_windows: 2 },
  performance: { metric: 'roc_auc', min: 0.8, max_drop: 0.05, min_labeled: 200, label_delay: '3d' },
  cooldown: '7d',
};

/** A field path as the 400 names it: `body.retrain.x` (zod) or `body/retrain/x` (JSON Schema). */
const field = (...path: string[]) =>
  new RegExp(['body', 'retrain', ...path].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[./]'));

describe('the retrain policy section and the trigger list', () => {
  it('accepts SPEC 6 as written, and answers a bad policy or query with a 400 naming the field', async () => {
    const service = await startTestService();
    await produce(service.config.topics.predictions, [prediction(1, { model_id: 'm' })]);
    await waitFor('the model known', async () =>
      (await service.get('/api/v1/models/m/policy')).status === 200 ? true : undefined,
    );

    const accepted = await put(service, '/api/v1/models/m/policy', { retrain: good });
    expect(accepted.status).toBe(200);
    expect(accepted.body['retrain']).toEqual(good);

    const cases: [string, unknown, RegExp][] = [
      ['unknown field', { ...good, window: '1h' }, /body[./]retrain: unknown field 'window'/],
      ['unknown nested field', { drift: { ...good.drift, k: 2 } }, field('drift')],
      [
        'unknown metric',
        { performance: { ...good.performance, metric: 'auc' } },
        field('performance', 'metric'),
      ],
      [
        'negative K',
        { drift: { ...good.drift, consecutive_windows: -1 } },
        field('drift', 'consecutive_windows'),
      ],
      ['zero K', { drift: { ...good.drift, consecutive_windows: 0 } }, field('drift', 'consecutive_windows')],
      [
        'fractional K',
        { drift: { ...good.drift, consecutive_windows: 1.5 } },
        field('drift', 'consecutive_windows'),
      ],
      ['cooldown not a duration', { ...good, cooldown: 'soon' }, field('cooldown')],
      ['negative cooldown', { ...good, cooldown: '-1d' }, field('cooldown')],
      [
        'label_delay not a duration',
        { performance: { ...good.performance, label_delay: '3 days' } },
        field('performance', 'label_delay'),
      ],
      [
        'label_delay of 27,000 years',
        { performance: { ...good.performance, label_delay: '9999999d' } },
        field('performance', 'label_delay'),
      ],
      [
        'loss_change label_delay over a year',
        { loss_change: { label_delay: '367d' } },
        field('loss_change', 'label_delay'),
      ],
      [
        'negative max_drop',
        { performance: { ...good.performance, max_drop: -0.1 } },
        field('performance', 'max_drop'),
      ],
      [
        'zero min_labeled',
        { performance: { ...good.performance, min_labeled: 0 } },
        field('performance', 'min_labeled'),
      ],
      ['neither min nor max_drop', { performance: { metric: 'accuracy' } }, field('performance')],
      [
        'a min as a percentage',
        { performance: { ...good.performance, metric: 'accuracy', min: 80 } },
        field('performance', 'min'),
      ],
      [
        'a negative min of a share',
        { performance: { metric: 'roc_auc', min: -0.5 } },
        field('performance', 'min'),
      ],
      ['a drift condition on nothing', { drift: { consecutive_windows: 2 } }, field('drift')],
      ['no condition', { cooldown: '1d' }, field()],
      [
        'a segmentation listed twice',
        {
          segments: [
            { segment: 'feature:region', drift: { columns: ['x'] } },
            { segment: 'feature:region', quality: {} },
          ],
        },
        field('segments', '1', 'segment'),
      ],
      ['not an object', 'always', field()],
      ['a huge column name', { drift: { columns: ['x'.repeat(10_000)] } }, field('drift', 'columns', '0')],
      [
        '10,000 columns',
        { drift: { columns: Array.from({ length: 10_000 }, (_, i) => `c${i}`) } },
        field('drift', 'columns'),
      ],
      [
        'deep JSON',
        { drift: { columns: [JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) as unknown] } },
        field('drift', 'columns', '0'),
      ],
    ];
    for (const [what, retrain, message] of cases) {
      const response = await put(service, '/api/v1/models/m/policy', { retrain });
      expect(response.status, what).toBe(400);
      expect(response.body['message'], what).toMatch(message);
    }
    // Infinity cannot be written in JSON text through inject's serializer: send the raw body.
    const infinite = await service.app.inject({
      method: 'PUT',
      url: '/api/v1/models/m/policy',
      headers: {
        authorization: `Bearer ${service.config.api.adminKey ?? ''}`,
        'content-type': 'application/json',
      },
      payload: '{"retrain":{"performance":{"metric":"accuracy","min":1e999}}}',
    });
    expect(infinite.statusCode).toBe(400);
    expect(infinite.json<{ message: string }>().message).toMatch(field('performance', 'min'));
    // Nothing of a rejected policy was stored.
    expect(
      ((await service.get('/api/v1/models/m/policy')).body as Record<string, unknown>)['retrain'],
    ).toEqual(good);

    const list = async (query: string) => service.get(`/api/v1/retrain-triggers${query}`);
    expect(await list('?model=m')).toEqual({ status: 200, body: { triggers: [] } });
    const unknown = await list('?model=never-seen');
    expect(unknown.status).toBe(404);
    expect((unknown.body as { message: string }).message).toBe("unknown model 'never-seen'");
    const bad: [string, RegExp][] = [
      ['?modle=m', /querystring: unknown field 'modle'/],
      ['?from=yesterday', /querystring\/from/],
      ['?to=99999-01-01', /querystring\/to/],
      ['?from=2026-02-01&to=2026-01-01', /querystring\/from: must be before to/],
      ['?limit=0', /querystring\/limit/],
      [`?model=${'m'.repeat(513)}`, /querystring\/model/],
    ];
    for (const [query, message] of bad) {
      const response = await list(query);
      expect(response.status, query).toBe(400);
      expect((response.body as { message: string }).message, query).toMatch(message);
    }
    const anonymous = await service.app.inject({ method: 'GET', url: '/api/v1/retrain-triggers' });
    expect(anonymous.statusCode).toBe(401);
  }, 60_000);
});
