import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ChangeDetectionError } from '../../../src/change-detection/errors.js';
import { ChangeGauges, gaugeStreamStart } from '../../../src/change-detection/gauges.js';
import {
  detectInStream,
  type ChangeDetectionService,
  type ChangeReport,
  type ChangeRequest,
} from '../../../src/change-detection/service.js';
import { detectorOptions } from '../../../src/change-detection/settings.js';
import { mulberry32 } from '../../../src/change-detection/streams.js';
import type { ModelRegistry, ModelVersionRecord } from '../../../src/models/index.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** A whole number of weeks since the epoch plus 3 days: no step of the gauges' start nearby. */
const NOW = 2_900 * WEEK + 3 * DAY;

/** 0/1 losses at an error rate of 0.3, two labeled predictions a minute, ending an hour before NOW. */
function lossStream(seed: number, days: number) {
  const next = mulberry32(seed);
  const first = NOW - MINUTE * 60 - days * DAY;
  const n = days * 24 * 60 * 2;
  const ts = Array.from({ length: n }, (_, i) => first + i * 30_000);
  return { ts, ids: ts.map((_, i) => `p${i}`), loss: ts.map((): number => (next() < 0.3 ? 1 : 0)) };
}

type Stream = ReturnType<typeof lossStream>;

/** The service's report over an in-memory stream: the range [from, to) of it, the real detector. */
function fakeService(streams: Record<string, Stream | Error>): ChangeDetectionService {
  return {
    report(request: ChangeRequest): Promise<ChangeReport> {
      const source = streams[request.modelId]!;
      if (source instanceof Error) return Promise.reject(source);
      const keep = source.ts.map((t) => t >= request.from && t < request.to);
      const stream = {
        ts: source.ts.filter((_, i) => keep[i]),
        ids: source.ids.filter((_, i) => keep[i]),
        loss: source.loss.filter((_, i) => keep[i]),
      };
      const options = detectorOptions({});
      return Promise.resolve({
        detections: detectInStream(stream, options),
        values: stream.loss.length,
        mean_loss: stream.loss.length ? stream.loss.reduce((s, x) => s + x, 0) / stream.loss.length : null,
      } as ChangeReport);
    },
  } as unknown as ChangeDetectionService;
}

function fakeModels(ids: string[]): ModelRegistry {
  return {
    list: () =>
      Promise.resolve(ids.map((model_id) => ({ model_id, model_version: '1' }) as ModelVersionRecord)),
  } as unknown as ModelRegistry;
}

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

async function gaugeValues(registry: Registry): Promise<Record<string, Record<string, number>>> {
  return Object.fromEntries(
    (await registry.getMetricsAsJSON()).map((m) => [
      m.name,
      Object.fromEntries(
        (m.values as { labels: { model?: string }; value: number }[]).map((v) => [v.labels.model, v.value]),
      ),
    ]),
  );
}

function gauges(service: ChangeDetectionService, models: string[], now: () => number) {
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const g = new ChangeGauges({
    service,
    models: fakeModels(models),
    policy: () => Promise.resolve({}),
    registry,
    logger,
    now,
  });
  return { g, registry, lines };
}

describe('change-detection gauges', () => {
  it('start on a fixed grid: one to two windows back, stepping once per window', () => {
    expect(gaugeStreamStart(NOW, WEEK)).toBe(NOW - 3 * DAY - WEEK);
    expect(gaugeStreamStart(NOW + MINUTE, WEEK)).toBe(gaugeStreamStart(NOW, WEEK));
    expect(gaugeStreamStart(2_901 * WEEK, WEEK)).toBe(2_900 * WEEK);
  });

  it('refreshes a minute apart over the same stream show the same detections, on any instance', async () => {
    const service = fakeService({ m: lossStream(7, 10) });
    let now = NOW;
    const first = gauges(service, ['m'], () => now);
    await first.g.runOnce();
    const shown = await gaugeValues(first.registry);
    // A stationary 0/1 loss at 0.3 over 10 days: false alarms, the borderline detections that moved.
    expect(shown['modelwatch_loss_changes']!['m']).toBeGreaterThan(0);
    expect(shown['modelwatch_loss_last_change_timestamp_seconds']!['m']).toBeGreaterThan(0);
    for (let k = 1; k <= 30; k++) {
      now = NOW + k * MINUTE;
      await first.g.runOnce();
      expect(await gaugeValues(first.registry), `refresh ${k} minutes later`).toEqual(shown);
    }
    // Another instance (or a restarted one), a few minutes later.
    const other = gauges(service, ['m'], () => NOW + 7 * MINUTE);
    await other.g.runOnce();
    expect(await gaugeValues(other.registry)).toEqual(shown);
  });

  it("one model's failure leaves the others' series fresh and is logged naming it", async () => {
    const streams: Record<string, Stream | Error> = { a: lossStream(1, 2), b: lossStream(2, 2) };
    const { g, registry, lines } = gauges(fakeService(streams), ['a', 'b'], () => NOW);
    await g.runOnce();
    expect(Object.keys((await gaugeValues(registry))['modelwatch_loss_changes']!)).toEqual(['a', 'b']);
    // Model a's data changes (every prediction wrong); model b's queries fail from now on.
    const a = streams['a'] as Stream;
    streams['a'] = { ...a, loss: a.loss.map(() => 1) };
    streams['b'] = new Error('Code: 241. Memory limit exceeded');
    await g.runOnce();
    const after = await gaugeValues(registry);
    expect(after['modelwatch_loss_mean_since_change']).toEqual({ a: 1 });
    expect(Object.keys(after['modelwatch_loss_changes']!)).toEqual(['a']);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        model: 'b',
        version: '1',
        err: expect.stringContaining('Memory') as string,
      }),
    ]);
  });

  it('a version over the value cap is left out with a warning naming it and its window', async () => {
    const streams: Record<string, Stream | Error> = {
      a: lossStream(1, 1),
      big: new ChangeDetectionError('TOO_MANY_VALUES', 'querystring: too many'),
    };
    const { g, registry, lines } = gauges(fakeService(streams), ['a', 'big'], () => NOW);
    await g.runOnce();
    expect(Object.keys((await gaugeValues(registry))['modelwatch_loss_changes']!)).toEqual(['a']);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        model: 'big',
        version: '1',
        from: new Date(gaugeStreamStart(NOW, WEEK)).toISOString(),
        to: new Date(NOW).toISOString(),
      }),
    ]);
  });
});
