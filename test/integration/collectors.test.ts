import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { label, prediction } from '../support/events.js';
import { produce, testKafka, uniqueName, waitFor, waitForGroupAtEnd } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

async function counts(
  service: TestService,
  table: string,
): Promise<{ raw: number; final: number; ids: number }> {
  const id = table === 'access_log' ? 'event_id' : 'prediction_id';
  const [row] = await service.rows<{ raw: number; final: number; ids: number }>(
    `SELECT (SELECT count() FROM ${table}) AS raw, (SELECT count() FROM ${table} FINAL) AS final,
            (SELECT uniqExact(${id}) FROM ${table}) AS ids`,
  );
  return row ?? { raw: 0, final: 0, ids: 0 };
}

/** An event's JSON encoded as Latin-1: not UTF-8 once it holds a character above U+007F. */
const latin1 = (event: object) => Buffer.from(JSON.stringify(event), 'latin1');

async function readTopic(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      messages.push(message);
      return Promise.resolve();
    },
  });
  await waitFor(`${expected} messages on ${topic}`, () =>
    Promise.resolve(messages.length >= expected ? true : undefined),
  );
  await consumer.disconnect();
  return messages;
}

describe('collectors', () => {
  it('dead-letters poison messages with their origin and reason while the good ones all land', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const poison: (object | string | Buffer)[] = [
      '{"prediction_id": "broken", ',
      { ...prediction(1000), features: 'not an object' },
      { ...prediction(1001), timestamp: 'yesterday-ish' },
      { model_id: 'credit-risk' },
      Buffer.alloc(0),
      // Latin-1 ids ("p-ü", "p-ä"): decoded they were both "p-\ufffd", one row under FINAL.
      latin1(prediction(1002, { prediction_id: 'p-\u00fc' })),
      latin1(prediction(1003, { prediction_id: 'p-\u00e4' })),
    ];
    const good = Array.from({ length: 200 }, (_, i) => prediction(i));
    const values = [...good.slice(0, 100), ...poison, ...good.slice(100)];
    await produce(topics.predictions, values, () => 'same-partition');

    await waitFor('good predictions stored', async () =>
      (await counts(service, 'predictions')).final === 200 ? true : undefined,
    );
    const letters = await readTopic(topics.deadLetter, poison.length);
    expect(letters).toHaveLength(poison.length);
    const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();
    const reasons = letters.map((m) => header(m, 'modelwatch-reason'));
    expect(reasons).toEqual([
      'invalid_json',
      'schema',
      'schema',
      'schema',
      'invalid_json',
      'invalid_json',
      'invalid_json',
    ]);
    for (const m of letters) {
      expect(header(m, 'modelwatch-source-topic')).toBe(topics.predictions);
      expect(header(m, 'modelwatch-source-partition')).toMatch(/^\d+$/);
      expect(Number(header(m, 'modelwatch-source-offset'))).toBeGreaterThanOrEqual(100);
      expect(m.key?.toString()).toBe('same-partition');
    }
    expect(letters[0]?.value?.toString()).toBe('{"prediction_id": "broken", ');
    expect(header(letters[1]!, 'modelwatch-error')).toContain('features');
    expect(header(letters[2]!, 'modelwatch-error')).toContain('timestamp');
    expect(letters.slice(5).map((m) => header(m, 'modelwatch-error'))).toEqual(['not UTF-8', 'not UTF-8']);
    expect(letters[5]?.value).toEqual(poison[5]);
    // The offsets are consecutive: the poison sat between the good messages of one partition.
    const offsets = letters.map((m) => Number(header(m, 'modelwatch-source-offset')));
    expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));

    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(
      `modelwatch_dead_letter_total{topic="${topics.predictions}",reason="schema"} 3`,
    );
    expect(metrics).toContain(
      `modelwatch_dead_letter_total{topic="${topics.predictions}",reason="invalid_json"} 4`,
    );
  });

  it('dead-letters oversize messages', async () => {
    const service = await startTestService({ MODELWATCH_MAX_MESSAGE_BYTES: '2000' });
    const { topics } = service.config;
    const huge = prediction(1, {
      features: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, i])),
    });
    await produce(topics.predictions, [prediction(0), huge, prediction(2)]);
    const [letter] = await readTopic(topics.deadLetter, 1);
    expect(letter?.headers?.['modelwatch-reason']?.toString()).toBe('oversize');
    await waitFor('two good rows', async () =>
      (await counts(service, 'predictions')).final === 2 ? true : undefined,
    );
  });

  it('joins labels to predictions whichever arrives first, and a later label corrects an earlier one', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    // Labels for 0..49 arrive before any prediction; 50..99 after.
    await produce(
      topics.labels,
      Array.from({ length: 50 }, (_, i) => label(i, { label: 'early' })),
    );
    await waitFor('early labels stored', async () =>
      (await counts(service, 'labels')).final === 50 ? true : undefined,
    );
    await produce(
      topics.predictions,
      Array.from({ length: 100 }, (_, i) => prediction(i)),
    );
    await produce(
      topics.labels,
      Array.from({ length: 50 }, (_, i) => label(i + 50, { label: 'late' })),
    );
    // A correction for p-0, with a later event time, replaces the first label.
    await produce(topics.labels, [label(0, { label: 'corrected', timestamp: Date.UTC(2026, 10, 27) })]);

    const joined = await waitFor('all labels joined', async () => {
      const rows = await service.rows<{ label: string; n: number }>(
        `SELECT l.label AS label, count() AS n FROM predictions AS p FINAL
         INNER JOIN (SELECT prediction_id, label FROM labels FINAL) AS l USING prediction_id
         GROUP BY label ORDER BY label`,
      );
      const total = rows.reduce((sum, r) => sum + r.n, 0);
      return total === 100 && rows.some((r) => r.label === 'corrected') ? rows : undefined;
    });
    expect(joined).toEqual([
      { label: 'corrected', n: 1 },
      { label: 'early', n: 49 },
      { label: 'late', n: 50 },
    ]);
  });

  it('counts a redelivered event once (same id produced twice)', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const events = Array.from({ length: 100 }, (_, i) => prediction(i));
    await produce(topics.predictions, events);
    await produce(topics.predictions, events.slice(0, 40));
    // Background merges may already have collapsed the copies; the counter shows all 140 were stored
    // (or more: the test producer is not idempotent, so a send retried under load writes a copy).
    const inTopic = await waitForGroupAtEnd(service.config.ingest.consumerGroup, topics.predictions);
    expect(inTopic).toBeGreaterThanOrEqual(140);
    await waitFor(`${inTopic} messages stored`, async () => {
      const body = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
      return body.includes(
        `modelwatch_messages_total{topic="${topics.predictions}",outcome="stored"} ${inTopic}`,
      )
        ? true
        : undefined;
    });
    const stored = await counts(service, 'predictions');
    expect(stored.final).toBe(100);
    expect(stored.ids).toBe(100);
    const [sum] = await service.rows<{ errors: number }>(
      'SELECT countIf(is_error) AS errors FROM predictions FINAL',
    );
    expect(sum?.errors).toBe(2);
  });

  it('pauses while ClickHouse rejects writes, reports not ready, and loses nothing when it is back', async () => {
    const service = await startTestService({ MODELWATCH_BATCH_MAX_ROWS: '100' });
    const { topics } = service.config;
    await produce(
      topics.predictions,
      Array.from({ length: 50 }, (_, i) => prediction(i)),
    );
    await waitFor('first rows', async () =>
      (await counts(service, 'predictions')).final === 50 ? true : undefined,
    );

    // A real engine failure: the table is gone, so every insert fails until it is attached again.
    await service.platform.db.client.command({ query: 'DETACH TABLE predictions' });
    await produce(
      topics.predictions,
      Array.from({ length: 950 }, (_, i) => prediction(50 + i)),
    );
    await waitFor('writes failing', async () => {
      const body = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
      const failures = Number(/modelwatch_insert_errors_total (\d+)/.exec(body)?.[1] ?? 0);
      return failures >= 2 ? failures : undefined;
    });
    const notReady = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ ready: false, checks: { ingest: false } });

    await service.platform.db.client.command({ query: 'ATTACH TABLE predictions' });
    await waitFor(
      'all rows after recovery',
      async () => ((await counts(service, 'predictions')).final === 1000 ? true : undefined),
      90_000,
    );
    const after = await counts(service, 'predictions');
    expect(after.final).toBe(1000);
    expect(after.ids).toBe(1000);
    await waitFor('ready again', async () =>
      (await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200 ? true : undefined,
    );
  });
});
