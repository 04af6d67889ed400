import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createQualityGauges, GAUGE_METRICS } from '../../../src/metrics/quality-gauges.js';
import type { MetricsBucket, ModelMetrics } from '../../../src/metrics/index.js';
import type { ModelRegistry, ModelVersionRecord } from '../../../src/models/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';

const versions = (models: string[]) =>
  ({
    list: () =>
      Promise.resolve(
        models.map(
          (model_id) =>
            ({ model_id, model_version: '1', task: 'binary_classification' }) as ModelVersionRecord,
        ),
      ),
  }) as unknown as ModelRegistry;

describe('model quality gauges', () => {
  it("one model's failing query leaves the others' gauges fresh, drops its stale series and names it", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    let accuracy = 0.5;
    let failing = '';
    const registry = new Registry();
    const gauges = createQualityGauges({
      db: {} as Database,
      models: versions(['a', 'b']),
      registry,
      logger: pino({ level: 'warn' }, sink),
      now: () => Date.UTC(2026, 0, 1, 12, 5),
      compute: (_db, request) => {
        if (request.model === failing) return Promise.reject(new Error('Code: 159. Timeout exceeded'));
        const none = Object.fromEntries(GAUGE_METRICS.map((m) => [m, null]));
        const bucket = { ...none, version: '1', accuracy } as unknown as MetricsBucket;
        return Promise.resolve({ model_id: request.model, buckets: [bucket] } as ModelMetrics);
      },
    });
    const accuracies = async (): Promise<Record<string, number>> =>
      Object.fromEntries(
        (await registry.getSingleMetric('modelwatch_model_quality')!.get()).values
          .filter((v) => v.labels['metric'] === 'accuracy')
          .map((v) => [String(v.labels['model']), v.value]),
      );
    await gauges.refresh();
    expect(await accuracies()).toEqual({ a: 0.5, b: 0.5 });
    accuracy = 0.9;
    failing = 'b';
    await gauges.refresh();
    expect(await accuracies()).toEqual({ a: 0.9 });
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, model: 'b', err: expect.stringContaining('Timeout') as string }),
    ]);
  });
});
