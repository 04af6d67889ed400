import { describe, expect, it } from 'vitest';
import { bundledModelFile, InferenceCore } from '../../../src/inference/index.js';
import { loadStoryData, planStory, Random, type StoryPlan } from '../../../src/simulator/index.js';
import { predictionMessages } from '../../../src/simulator/publish.js';

const data = loadStoryData();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every field of the plan that reaches the broker, as text. */
const fingerprint = (plan: StoryPlan) =>
  JSON.stringify([
    plan.predictions.map((p) => [p.predictionId, p.timestamp, p.latencyMs, p.status, p.requestId]),
    plan.labels,
    plan.access,
  ]);

describe('the simulator plan', () => {
  it('reads the vendored California data: both periods, hourly, in time order', () => {
    expect(data.reference).toHaveLength(5_832);
    expect(data.analysis).toHaveLength(8_232);
    expect(new Date(data.reference[0]!.time).toISOString()).toBe('2020-10-01T00:00:00.000Z');
    expect(new Date(data.analysis[0]!.time).toISOString()).toBe('2021-06-01T00:00:00.000Z');
    const all = [...data.reference, ...data.analysis];
    expect(all.every((r, i) => i === 0 || r.time - all[i - 1]!.time === HOUR)).toBe(true);
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
  });

  it('is the same event for event under the same seed, and another story under another seed', () => {
    const a = planStory(data, 7);
    const b = planStory(data, 7);
    const c = planStory(data, 8);
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(fingerprint(c));
    // The rows served are the data's, whatever the seed; how they were served differs.
    expect(c.predictions.map((p) => p.predictionId)).toEqual(a.predictions.map((p) => p.predictionId));
    const sameLatency = a.predictions.filter((p, i) => p.latencyMs === c.predictions[i]!.latencyMs).length;
    expect(sameLatency).toBeLessThan(a.predictions.length / 10);
  });

  it('gives each prediction and access event the same event time under any seed, so a replay is stored once', () => {
    // The collectors take the same id at the same event time as the same row (SPEC 3.3).
    const a = planStory(data, 42);
    const b = planStory(data, 7);
    const key = (p: { predictionId: string; timestamp: number }) => `${p.predictionId}@${p.timestamp}`;
    expect(b.predictions.map(key)).toEqual(a.predictions.map(key));
    const timeOf = new Map(a.access.map((e) => [e.event_id, e.timestamp]));
    const shared = b.access.filter((e) => timeOf.has(e.event_id));
    expect(shared.length).toBeGreaterThan(50);
    expect(shared.filter((e) => e.timestamp !== timeOf.get(e.event_id))).toEqual([]);
    // Still spread over the hour, not all at its start.
    const minutes = new Set(a.predictions.map((p) => Math.floor((p.timestamp - p.row.time) / 60_000)));
    expect(minutes.size).toBe(60);
  });

  it('serves realistically: latency around 18 ms with a tail, rare errors, labels days later, some lost', () => {
    const plan = planStory(data, 42);
    const ok = plan.predictions
      .filter((p) => p.status === 'ok')
      .map((p) => p.latencyMs)
      .sort((x, y) => x - y);
    const median = ok[ok.length >> 1]!;
    expect(median).toBeGreaterThan(15);
    expect(median).toBeLessThan(25);
    expect(ok[Math.floor(ok.length * 0.999)]!).toBeGreaterThan(2 * median);
    const errors = plan.predictions.filter((p) => p.status === 'error');
    expect(errors.length / plan.predictions.length).toBeGreaterThan(0.001);
    expect(errors.length / plan.predictions.length).toBeLessThan(0.01);
    expect(errors.every((p) => p.latencyMs >= 250)).toBe(true);
    // Each prediction is inside its data hour.
    expect(plan.predictions.every((p) => p.timestamp >= p.row.time && p.timestamp < p.row.time + HOUR)).toBe(
      true,
    );

    const predicted = new Map(plan.predictions.map((p) => [p.predictionId, p]));
    const delays = plan.labels.map((l) => l.timestamp - predicted.get(l.predictionId)!.timestamp);
    expect(delays.every((d) => d > 0 && d <= 45 * DAY)).toBe(true);
    const sortedDelays = [...delays].sort((x, y) => x - y);
    expect(sortedDelays[sortedDelays.length >> 1]! / DAY).toBeGreaterThan(2);
    expect(sortedDelays[sortedDelays.length >> 1]! / DAY).toBeLessThan(4);
    expect(plan.labels.length / plan.predictions.length).toBeGreaterThan(0.95);
    expect(plan.labels.length).toBeLessThan(plan.predictions.length);
    expect(plan.labels.every((l, i) => i === 0 || l.timestamp >= plan.labels[i - 1]!.timestamp)).toBe(true);
    expect(plan.labels.every((l) => l.label === predicted.get(l.predictionId)!.row.label)).toBe(true);
  });

  it('logs access by a few principals, some denied, in time order', () => {
    const plan = planStory(data, 42);
    const principals = new Set(plan.access.map((a) => a.principal));
    expect(principals.size).toBeGreaterThanOrEqual(4);
    const denied = plan.access.filter((a) => a.outcome === 'denied');
    expect(denied.length).toBeGreaterThan(10);
    expect(denied.length).toBeLessThan(plan.access.length / 5);
    expect(new Set(denied.map((a) => a.principal))).toEqual(new Set(['tom.intern', 'unknown-script']));
    expect(new Set(plan.access.map((a) => a.event_id)).size).toBe(plan.access.length);
    expect(plan.access.every((a, i) => i === 0 || a.timestamp >= plan.access[i - 1]!.timestamp)).toBe(true);
  });

  it("puts the reference period where NannyML's is: October 2020 to the end of May 2021", () => {
    const plan = planStory(data, 1);
    expect(new Date(plan.start).toISOString()).toBe('2020-10-01T00:00:00.000Z');
    expect(new Date(plan.referenceEnd).toISOString()).toBe('2021-06-01T00:00:00.000Z');
    expect(new Date(plan.end).toISOString()).toBe('2022-05-10T00:00:00.000Z');
  });

  it('publishes the same prediction messages under the same seed, scored by the production model', async () => {
    const core = new InferenceCore();
    try {
      const model = await core.loadFile('forest', bundledModelFile('california-forest'));
      const batch = (seed: number) => planStory(data, seed).predictions.slice(0, 300);
      const first = await predictionMessages(model, batch(3));
      const again = await predictionMessages(model, batch(3));
      expect(again).toEqual(first);
      const events = first.map((m) => JSON.parse(m.value) as Record<string, unknown>);
      expect(events.every((e) => e['model_id'] === 'california' && e['model_version'] === '1')).toBe(true);
      const ok = events.filter((e) => e['status'] === 'ok');
      expect(
        ok.every((e) => typeof e['score'] === 'number' && (e['prediction'] === 0 || e['prediction'] === 1)),
      ).toBe(true);
      // The model's answer: a positive prediction exactly when the positive class is more likely.
      expect(ok.every((e) => (e['prediction'] === 1) === (e['score'] as number) > 0.5)).toBe(true);
      expect(new Set(ok.map((e) => e['prediction'])).size).toBe(2);
      const failed = events.filter((e) => e['status'] === 'error');
      // Seed 3's first 300 hold 2 errors: without them the next line would check nothing.
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((e) => e['prediction'] === 0 && !('score' in e))).toBe(true);
    } finally {
      await core.close();
    }
  });
});

describe('Random', () => {
  it('repeats under a seed and spreads uniformly', () => {
    const a = new Random(99);
    const b = new Random(99);
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(Array.from({ length: 10_000 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(new Random(100).next()).not.toBe(new Random(99).next());
  });
});
