import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { triggers } from '../../src/triggers/index.js';
import { label, prediction } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { put, readTopic, storedTriggers, waitForModel } from '../support/triggers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2);
/** Predictions per day; day 0 is the reference period (90% right), day 1 is 50% right. */
const PER_DAY = 200;

/** Prediction `i` of day `day` after `t0`: right for the first `right` of the day. */
function dayEvents(day: number, right: number, labelDelay: number, { t0 = T0, model = 'perf' } = {}) {
  const predictions = [];
  const labels = [];
  for (let k = 0; k < PER_DAY; k++) {
    const i = day * PER_DAY + k;
    const timestamp = t0 + day * DAY + Math.floor((k * DAY) / PER_DAY);
    const predicted = k % 2;
    predictions.push(
      prediction(i, {
        model_id: model,
        model_version: '1',
        timestamp,
        prediction: predicted,
        score: predicted === 1 ? 0.8 : 0.2,
        status: 'ok',
      }),
    );
    labels.push(
      label(i, { label: k < right ? predicted : 1 - predicted, timestamp: timestamp + labelDelay }),
    );
  }
  return { predictions, labels };
}

async function stored(service: TestService, predictions: number, labels: number) {
  await waitFor(`${predictions} predictions and ${labels} labels stored`, async () => {
    const [row] = await service.rows<{ p: number; l: number }>(
      'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l',
    );
    return row?.p === predictions && row.l === labels ? true : undefined;
  });
}

describe('a performance floor with labels arriving three days after their predictions', () => {
  it('fires only once the labels are in, with the metric and its drop from the reference period', async () => {
    const service = await startTestService({
      MODELWATCH_RETRAIN_INTERVAL_MS: '1000',
      MODELWATCH_RETRAIN_REFERENCE_REFRESH_MS: '1',
    });
    const { topics } = service.config;
    const day0 = dayEvents(0, 180, HOUR);
    const day1 = dayEvents(1, 100, 3 * DAY);
    // Later days only move the watermark; nobody labels them.
    const later = [2, 3, 4, 5].flatMap((d) => dayEvents(d, 0, 0).predictions.filter((_, k) => k % 20 === 0));
    await produce(topics.predictions, [...day0.predictions, ...day1.predictions, ...later]);
    // Half of the reference period's labels first (all of them right), the rest later.
    const [early, late] = [day0.labels.slice(0, PER_DAY / 2), day0.labels.slice(PER_DAY / 2)];
    await produce(topics.labels, early);
    const total = 2 * PER_DAY + later.length;
    await stored(service, total, PER_DAY / 2);

    await waitForModel(service, 'perf');
    const performance = { metric: 'accuracy', min: 0.6, max_drop: 0.1, min_labeled: 150, label_delay: '3d' };
    expect(
      (
        await put(service, '/api/v1/models/perf/policy', {
          drift: { evaluation_window: '1d', allowed_lateness: '0s' },
          retrain: { performance, cooldown: '7d' },
        })
      ).status,
    ).toBe(200);
    // The reference period: day 0, with its labels (accuracy 0.9).
    expect(
      (await put(service, '/api/v1/models/perf/versions/1/reference', { from: T0, to: T0 + DAY })).status,
    ).toBe(200);

    // The watermark (day 5, 21:36) is past day 1's end + 3 days, but day 1 has no labels yet.
    await service.use(drift).evaluator.runOnce();
    await service.use(triggers).evaluator.runOnce();
    expect(await storedTriggers(service, 'perf')).toEqual([]);
    // The reference period's late labels change its accuracy (1.0 → 0.9) under the same revision.
    await produce(topics.labels, late);
    await stored(service, total, PER_DAY);

    await produce(topics.labels, day1.labels);
    await stored(service, total, 2 * PER_DAY);
    await service.use(triggers).evaluator.runOnce();
    const fired = await storedTriggers(service, 'perf');
    expect(fired).toHaveLength(1);
    const [trigger] = fired;
    expect(trigger).toMatchObject({
      model_id: 'perf',
      model_version: '1',
      reason: 'performance',
      window: { start: new Date(T0 + DAY).toISOString(), end: new Date(T0 + 2 * DAY).toISOString() },
    });
    expect(trigger!.policy).toEqual({ performance, cooldown: '7d' });
    expect(trigger!.evidence).toMatchObject({
      metric: 'accuracy',
      value: 0.5,
      labeled: PER_DAY,
      count: PER_DAY,
      min: 0.6,
      max_drop: 0.1,
      reference_value: 0.9,
      reference_period: { from: new Date(T0).toISOString(), to: new Date(T0 + DAY).toISOString() },
      fired: ['min', 'max_drop'],
    });
    expect((trigger!.evidence as { drop: number }).drop).toBeCloseTo(0.4, 12);
    // The metric is the metrics route's own figure for that day.
    const metrics = await service.get(
      `/api/v1/models/perf/metrics?from=${T0 + DAY}&to=${T0 + 2 * DAY}&bucket=1d`,
    );
    expect((metrics.body as { buckets: { accuracy: number }[] }).buckets[0]!.accuracy).toBe(0.5);

    await waitFor('the trigger published', async () => {
      const listed = await service.get('/api/v1/retrain-triggers?model=perf');
      return (listed.body as { triggers: { published: boolean }[] }).triggers[0]?.published
        ? true
        : undefined;
    });
    const [message] = await readTopic(topics.retrain);
    expect(message).toMatchObject({ key: 'perf', value: trigger });
    // Another pass stores nothing new (the service's own loop runs too: the store is what counts).
    await service.use(triggers).evaluator.runOnce();
    expect(await storedTriggers(service, 'perf')).toEqual([trigger]);
  }, 120_000);
});

describe('a performance drop from a reference period spanning two calendar months', () => {
  it('fires on max_drop alone, against the metric of the whole period', async () => {
    const service = await startTestService({ MODELWATCH_RETRAIN_INTERVAL_MS: '1000' });
    const { topics } = service.config;
    // February 28 and March 1 (2026 is no leap year): the reference period, 90% right.
    const feb28 = Date.UTC(2026, 1, 28);
    const at = { t0: feb28, model: 'months' };
    const days = [180, 180, 140].map((right, day) => dayEvents(day, right, HOUR, at));
    // Later days only move the watermark; nobody labels them.
    const later = [3, 4].flatMap((d) => dayEvents(d, 0, 0, at).predictions.filter((_, k) => k % 20 === 0));
    await produce(topics.predictions, [...days.flatMap((d) => d.predictions), ...later]);
    await produce(
      topics.labels,
      days.flatMap((d) => d.labels),
    );
    await stored(service, 3 * PER_DAY + later.length, 3 * PER_DAY);
    await waitForModel(service, 'months');
    const performance = { metric: 'accuracy', min: 0.5, max_drop: 0.1, min_labeled: 150 };
    expect(
      (
        await put(service, '/api/v1/models/months/policy', {
          drift: { evaluation_window: '1d', allowed_lateness: '0s' },
          retrain: { performance },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await put(service, '/api/v1/models/months/versions/1/reference', {
          from: feb28,
          to: feb28 + 2 * DAY,
        })
      ).status,
    ).toBe(200);

    await service.use(triggers).evaluator.runOnce();
    const fired = await storedTriggers(service, 'months');
    // March 2 (70% right) is above min but 0.2 under the period's 0.9; the period's own days are not.
    expect(fired.map((t) => t.window.start)).toEqual([new Date(feb28 + 2 * DAY).toISOString()]);
    expect(fired[0]!.evidence).toMatchObject({
      value: 0.7,
      reference_value: 0.9,
      reference_period: {
        from: new Date(feb28).toISOString(),
        to: new Date(feb28 + 2 * DAY).toISOString(),
      },
      fired: ['max_drop'],
    });
    expect(fired[0]!.evidence).not.toHaveProperty('reference_note');
  }, 120_000);
});

describe('a prediction from a client whose clock is hours ahead', () => {
  it('does not make a window due before its label delay passed; the next prediction on time does', async () => {
    const service = await startTestService({ MODELWATCH_RETRAIN_INTERVAL_MS: '1000' });
    const { topics } = service.config;
    const at = { model: 'skew' };
    // Day 0: half right, every label in. Day 1 until 10:48: the watermark, short of day 0's end + 1d.
    const day0 = dayEvents(0, 100, HOUR, at);
    const day1 = dayEvents(1, 0, 0, at).predictions.filter((_, k) => k < PER_DAY / 2 && k % 10 === 0);
    // One prediction stamped March 4, 06:00: its client's clock is 19 hours ahead.
    const ahead = prediction(10_000, {
      model_id: 'skew',
      model_version: '1',
      timestamp: T0 + 2 * DAY + 6 * HOUR,
    });
    await produce(topics.predictions, [...day0.predictions, ...day1, ahead]);
    await produce(topics.labels, day0.labels);
    await stored(service, PER_DAY + day1.length + 1, PER_DAY);
    await waitForModel(service, 'skew');
    const performance = { metric: 'accuracy', min: 0.6, min_labeled: 150, label_delay: '1d' };
    expect(
      (
        await put(service, '/api/v1/models/skew/policy', {
          drift: { evaluation_window: '1d', allowed_lateness: '0s' },
          retrain: { performance },
        })
      ).status,
    ).toBe(200);

    // With the latest event time as the watermark, day 0 (accuracy 0.5) was due and fired here.
    await service.use(triggers).evaluator.runOnce();
    expect(await storedTriggers(service, 'skew')).toEqual([]);

    // A prediction on time past day 0's end + 1d: now it is due.
    const onTime = prediction(10_001, {
      model_id: 'skew',
      model_version: '1',
      timestamp: T0 + 2 * DAY + HOUR,
    });
    await produce(topics.predictions, [onTime]);
    await stored(service, PER_DAY + day1.length + 2, PER_DAY);
    await service.use(triggers).evaluator.runOnce();
    const fired = await storedTriggers(service, 'skew');
    expect(fired.map((t) => [t.window.start, t.evidence['value']])).toEqual([
      [new Date(T0).toISOString(), 0.5],
    ]);
  }, 120_000);
});
