import { describe, expect, it } from 'vitest';
import { accessEvent, label, prediction } from '../support/events.js';
import { produce, testKafka, uniqueName, waitFor, waitForGroupAtEnd } from '../support/harness.js';
import { startTestService } from '../support/service.js';

describe('Kafka → ClickHouse pipeline (real broker, embedded engine)', () => {
  it('stores predictions, labels and access events consumed in a group, and reports ready', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    // p-299 carries every feature shape the input view must split: null, a quoted number, exponents.
    const oddFeatures = { gone: null, zip: '02134', big: -1.5e3, ok: true, note: 'say "hi" é' };
    const predictions = Array.from({ length: 300 }, (_, i) =>
      i === 299 ? prediction(i, { features: oddFeatures }) : prediction(i),
    );
    await produce(topics.predictions, predictions, (i) => `p-${i}`);
    await produce(
      topics.labels,
      Array.from({ length: 100 }, (_, i) => label(i)),
    );
    await produce(
      topics.accessLog,
      Array.from({ length: 50 }, (_, i) => accessEvent(i)),
    );

    const counts = await waitFor('all rows stored', async () => {
      const [row] = await service.rows<{ p: number; l: number; a: number }>(
        `SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l,
                (SELECT count() FROM access_log FINAL) AS a`,
      );
      return row && row.p === 300 && row.l === 100 && row.a === 50 ? row : undefined;
    });
    expect(counts).toEqual({ p: 300, l: 100, a: 50 });

    const [odd] = await service.rows<Record<string, unknown>>(
      `SELECT features_num, features_str FROM predictions FINAL WHERE prediction_id = 'p-299'`,
    );
    expect(odd).toEqual({
      features_num: { big: -1500 },
      features_str: { zip: '02134', ok: 'true', note: 'say "hi" é' },
    });

    const [stored] = await service.rows<Record<string, unknown>>(
      `SELECT model_id, model_version, features_num, features_str, prediction, prediction_num, score, latency_ms, is_error, entity_id,
              toUnixTimestamp64Milli(timestamp) AS ts
       FROM predictions FINAL WHERE prediction_id = 'p-7'`,
    );
    const sent = prediction(7);
    expect(stored).toEqual({
      model_id: 'credit-risk',
      model_version: '3',
      features_num: { age: 27, income: 7000 },
      features_str: { region: 'south', has_card: 'false' },
      prediction: '1',
      prediction_num: 1,
      score: 0.07,
      latency_ms: 12,
      is_error: false,
      entity_id: 'customer-7',
      ts: sent['timestamp'],
    });

    const models = await service.rows<{ model_id: string; model_version: string; task: string }>(
      'SELECT model_id, model_version, task FROM model_versions FINAL',
    );
    expect(models).toEqual([{ model_id: 'credit-risk', model_version: '3', task: 'binary_classification' }]);

    const ready = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    // Every message in the topic counted once: 300, or more when a send retried under load wrote a copy.
    const inTopic = await waitForGroupAtEnd(service.config.ingest.consumerGroup, topics.predictions);
    expect(inTopic).toBeGreaterThanOrEqual(300);
    const metrics = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(
      `modelwatch_messages_total{topic="${topics.predictions}",outcome="stored"} ${inTopic}`,
    );
  });

  it("commits the group's offsets once the rows are stored", async () => {
    const service = await startTestService();
    const { topics, ingest } = service.config;
    await produce(
      topics.predictions,
      Array.from({ length: 100 }, (_, i) => prediction(i)),
    );
    await waitFor('100 stored', async () => {
      const [row] = await service.rows<{ c: number }>('SELECT count() AS c FROM predictions FINAL');
      return row?.c === 100 ? true : undefined;
    });
    const committed = await waitForGroupAtEnd(ingest.consumerGroup, topics.predictions);
    expect(committed).toBeGreaterThanOrEqual(100);
  });

  // A transaction ends with a commit marker, an offset no message has: the group's offsets stayed
  // one behind each partition's end for good (modelwatch_consumer_lag 1, never 0), as Kafka's
  // tools see them too; the Java consumer commits past the marker.
  it("commits past a transaction's commit marker: the group reaches the partition's end", async () => {
    const service = await startTestService();
    const { topics, ingest } = service.config;
    const producer = testKafka().producer({
      transactionalId: uniqueName('pipeline-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({
        topic: topics.predictions,
        acks: -1,
        messages: Array.from({ length: 30 }, (_, i) => ({
          partition: i % 3,
          key: `p-${i}`,
          value: JSON.stringify(prediction(i)),
        })),
      });
      await tx.commit();
    } finally {
      await producer.disconnect();
    }
    await waitFor('30 stored', async () => {
      const [row] = await service.rows<{ c: number }>('SELECT count() AS c FROM predictions FINAL');
      return row?.c === 30 ? true : undefined;
    });
    // 10 messages and a marker on each of the 3 partitions.
    expect(await waitForGroupAtEnd(ingest.consumerGroup, topics.predictions, 20_000)).toBe(33);
  });
});
