import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { testCollectorSink } from '../../support/collector-sink.js';

const T0 = Date.UTC(2026, 10, 25, 12);

/** Predictions in the order of the table's key (model_id, timestamp, prediction_id): ties in time, ids that sort as text. */
const KEY_ORDER = [
  { model: 'a', time: T0, id: 'p-1' },
  { model: 'a', time: T0, id: 'p-10' },
  { model: 'a', time: T0, id: 'p-2' },
  { model: 'a', time: T0 + 1, id: 'p-0' },
  { model: 'a', time: T0 + 60_000, id: 'p-3' },
  { model: 'b', time: T0 - 5, id: 'p-9' },
  { model: 'b', time: T0, id: 'p-1' },
  { model: 'b', time: T0, id: 'p-11' },
];

/** The same predictions as a fetch from several partitions interleaves them. */
const ARRIVAL = [6, 0, 4, 2, 7, 1, 5, 3];

describe('a batch of predictions', () => {
  it('is inserted in the order of the table key, and counted whole', async () => {
    const bodies: Buffer[] = [];
    const registry = new Registry();
    const sink = testCollectorSink(registry, {
      now: () => T0,
      db: {
        insertJsonEachRow: (_table: string, body: Buffer) => {
          bodies.push(body);
          return Promise.resolve();
        },
      } as never,
    });
    const decode = (k: number) => {
      const { model, time, id } = KEY_ORDER[k]!;
      const value = JSON.stringify({
        prediction_id: id,
        model_id: model,
        model_version: '1',
        timestamp: time,
        features: { x: k },
        prediction: k,
      });
      const message = { key: null, value: Buffer.from(value), offset: String(k), headers: {} };
      return sink.decode({
        topic: 'p',
        partition: k % 3,
        offset: String(k),
        message: message as unknown as KafkaMessage,
      });
    };
    const rows = KEY_ORDER.map((_, k) => {
      const item = decode(k);
      if (!item.ok) throw new Error('a test prediction was refused');
      return Buffer.from(item.row);
    });
    const batch = ARRIVAL.map(decode);

    await sink.write(batch);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.equals(Buffer.concat(rows))).toBe(true);
    expect(batch.every((item) => item.done)).toBe(true);
    const metrics = await registry.metrics();
    expect(metrics).toContain('modelwatch_predictions_total{model="a",version="1"} 5');
    expect(metrics).toContain('modelwatch_predictions_total{model="b",version="1"} 3');
  });
});
