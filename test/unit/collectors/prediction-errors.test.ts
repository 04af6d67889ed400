import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { testCollectorSink } from '../../support/collector-sink.js';

// rate() over a counter series that first appears at its first errors is 0 for them, and a version
// without errors had no series at all (no 0% line on "Error rate by version").

const NOW = Date.UTC(2026, 10, 25, 12);

describe('prediction error counter', () => {
  it('exposes a version with only ok predictions at 0 errors, then counts its first error', async () => {
    const registry = new Registry();
    const sink = testCollectorSink(registry, { now: () => NOW });
    const prediction = (id: string, status: string) => {
      const value = JSON.stringify({
        prediction_id: id,
        model_id: 'm',
        model_version: '1',
        timestamp: NOW,
        features: { a: 1 },
        prediction: 1,
        status,
      });
      const message = {
        key: null,
        value: Buffer.from(value),
        offset: '0',
        headers: {},
      } as unknown as KafkaMessage;
      return sink.decode({ topic: 'p', partition: 0, offset: '0', message });
    };
    await sink.write([prediction('a', 'ok'), prediction('b', 'ok')]);
    expect(await registry.metrics()).toContain('modelwatch_prediction_errors_total{model="m",version="1"} 0');
    await sink.write([prediction('c', 'error')]);
    expect(await registry.metrics()).toContain('modelwatch_prediction_errors_total{model="m",version="1"} 1');
  });
});
