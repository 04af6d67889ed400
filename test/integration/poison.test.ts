import { Partitioners, type KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCollectorSink, createIngestMetrics } from '../../src/collectors/index.js';
import { isRetryable } from '../../src/platform/errors.js';
import { createIdempotentSender } from '../../src/platform/kafka/index.js';
import { accessEvent, label, prediction } from '../support/events.js';
import { createTopics, producerIdOf, testKafka, uniqueName, waitForGroupAtEnd } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { readTopicMessages } from '../support/triggers.js';
import { models } from '../../src/models/index.js';

/** Sends raw texts to one partition each, in order, so "after it on every partition" is exact. */
async function sendTo(topic: string, messages: { partition: number; value: string }[]): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({ partition: m.partition, value: m.value })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Every message on `topic`, up to the end its partitions have now. */
async function readAll(topic: string): Promise<KafkaMessage[]> {
  return (await readTopicMessages(topic)).map(({ message }) => message);
}

async function finalCount(service: TestService, table: string): Promise<number> {
  const [row] = await service.rows<{ n: number }>(`SELECT count() AS n FROM ${table} FINAL`);
  return row?.n ?? 0;
}

const json = (event: Record<string, unknown>) => JSON.stringify(event);
/** An event's JSON with `extra` spliced in as raw text (so 1e999 reaches JSON.parse as written). */
const withRaw = (event: Record<string, unknown>, extra: string) => `${json(event).slice(0, -1)},${extra}}`;
const FAR_FUTURE = '2299-12-31T00:00:00Z';

/** Each poison message, the reason it must be dead-lettered for, and a text its error must contain. */
const poison = {
  predictions: [
    { value: withRaw(prediction(9001), '"latency_ms":1e999'), reason: 'schema', error: 'latency_ms' },
    { value: withRaw(prediction(9002), '"score":1e999'), reason: 'schema', error: 'score' },
    {
      value: json(prediction(9003)).replace('"age":', '"inf":-1e999,"age":'),
      reason: 'schema',
      error: 'features.inf',
    },
    {
      value: json(prediction(9004, { timestamp: FAR_FUTURE })),
      reason: 'future_timestamp',
      error: 'timestamp',
    },
    {
      value: json(
        prediction(9005, {
          features: Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`f${i}`, i])),
        }),
      ),
      reason: 'schema',
      error: 'features: more than 1000',
    },
    // Valid to the schema, but a lone surrogate has no UTF-8 form: refused at decode (issue 17;
    // ClickHouse refused it before, when predictions were inserted as JSON).
    {
      value: json(prediction(9006)).replace('"p-9006"', '"p-\\ud800"'),
      reason: 'schema',
      error: 'prediction_id: holds a lone UTF-16 surrogate',
    },
  ],
  labels: [
    { value: json(label(9001, { timestamp: FAR_FUTURE })), reason: 'future_timestamp', error: 'timestamp' },
    {
      value: withRaw(label(9002), '"label":1e999').replace('"label":0,', '').replace('"label":1,', ''),
      reason: 'schema',
      error: 'label',
    },
    // A lone surrogate in any text of a label or an access event: refused at decode too. ClickHouse
    // refused the row (code 25) before, after ~2·log2(n) failed inserts of its halved batch.
    {
      value: json(label(9003)).replace('"p-9003"', '"p-\\ud800"'),
      reason: 'schema',
      error: 'prediction_id: holds a lone UTF-16 surrogate',
    },
  ],
  accessLog: [
    {
      value: json(accessEvent(9001, { timestamp: FAR_FUTURE })),
      reason: 'future_timestamp',
      error: 'timestamp',
    },
    // A lone first half was refused by ClickHouse (code 25); a lone second half was stored.
    {
      value: json(accessEvent(9002)).replace('"a-9002"', '"a-\\ud800"'),
      reason: 'schema',
      error: 'event_id: holds a lone UTF-16 surrogate',
    },
    {
      value: json(accessEvent(9003)).replace('"support"', '"support \\udfff"'),
      reason: 'schema',
      error: 'purpose: holds a lone UTF-16 surrogate',
    },
  ],
};

/** A collector sink of the service's engine and models, its own metrics, lettering through `topics`. */
function letterSink(service: TestService, topics: TestService['config']['topics']) {
  const registry = new Registry();
  const letterSender = createIdempotentSender(service.platform.kafka, service.platform.logger);
  const sink = createCollectorSink({
    db: service.platform.db,
    letters: letterSender,
    models: service.use(models).registry,
    metrics: createIngestMetrics(registry),
    topics,
    maxMessageBytes: 1_048_576,
    maxFutureSkewMs: 86_400_000,
    maxFeatures: 1_000,
    maxFeatureNameLength: 256,
  });
  return { sink, registry, letterSender };
}

describe('poison messages', () => {
  it('land once on the dead-letter topic with their reason while every partition keeps flowing', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const partitions = topics.partitions;
    const sent = { predictions: 0, labels: 0, accessLog: 0 };
    // Per topic: valid events, then the poison spread over the partitions, then a valid event on EVERY partition.
    for (const [topic, name, valid] of [
      [topics.predictions, 'predictions', prediction],
      [topics.labels, 'labels', label],
      [topics.accessLog, 'accessLog', accessEvent],
    ] as const) {
      const before = Array.from({ length: 3 * partitions }, (_, i) => ({
        partition: i % partitions,
        value: json(valid(i)),
      }));
      const bad = poison[name].map((p, i) => ({ partition: i % partitions, value: p.value }));
      const after = Array.from({ length: partitions }, (_, p) => ({
        partition: p,
        value: json(valid(100 + p)),
      }));
      await sendTo(topic, [...before, ...bad, ...after]);
      sent[name] = before.length + after.length;
    }

    for (const topic of [topics.predictions, topics.labels, topics.accessLog]) {
      await waitForGroupAtEnd(service.config.ingest.consumerGroup, topic, 60_000);
    }
    // Exact counts: every valid event stored once, no poison stored.
    expect(await finalCount(service, 'predictions')).toBe(sent.predictions);
    expect(await finalCount(service, 'labels')).toBe(sent.labels);
    expect(await finalCount(service, 'access_log')).toBe(sent.accessLog);
    const [after] = await service.rows<{ n: number }>(
      `SELECT count() AS n FROM predictions FINAL WHERE prediction_id IN ('p-100', 'p-101', 'p-102')`,
    );
    expect(after?.n).toBe(partitions);

    // The test producer is not idempotent: under load a retried send can write a message twice to
    // its topic. So "once" is per source message (topic, partition, offset): each copy of a poison
    // message in the input topics has exactly one dead letter, and nothing else has any.
    const expected = [...poison.predictions, ...poison.labels, ...poison.accessLog];
    // The group is at the end, so every letter was acknowledged before its offset was committed.
    const [letters, inputs] = await Promise.all([
      readAll(topics.deadLetter),
      Promise.all([topics.predictions, topics.labels, topics.accessLog].map(readAll)).then((r) => r.flat()),
    ]);
    const copies = (value: string) => inputs.filter((m) => m.value?.toString() === value).length;
    const total = expected.reduce((sum, p) => sum + copies(p.value), 0);
    expect(letters).toHaveLength(total);
    const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString() ?? '';
    const sources = letters.map((m) =>
      ['topic', 'partition', 'offset'].map((h) => header(m, `modelwatch-source-${h}`)).join('/'),
    );
    expect(new Set(sources).size).toBe(letters.length);
    expect(
      letters.filter((m) => producerIdOf(m) === '-1'),
      'every letter written by an idempotent producer (its retries deduplicated by the broker)',
    ).toEqual([]);
    for (const p of expected) {
      const matching = letters.filter((m) => m.value?.toString() === p.value);
      expect(copies(p.value)).toBeGreaterThanOrEqual(1);
      expect(matching, p.value.slice(0, 80)).toHaveLength(copies(p.value));
      for (const letter of matching) {
        expect(header(letter, 'modelwatch-reason')).toBe(p.reason);
        expect(header(letter, 'modelwatch-error')).toContain(p.error);
      }
    }

    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    const counted = (topic: string, reason: string) =>
      metrics
        .split('\n')
        .find((l) => l.startsWith(`modelwatch_dead_letter_total{topic="${topic}",reason="${reason}"} `))
        ?.split(' ')[1] ?? '0';
    const copiesOf = (list: { value: string; reason: string }[], reason: string) =>
      String(list.filter((p) => p.reason === reason).reduce((sum, p) => sum + copies(p.value), 0));
    // Every poison message here is refused at decode: ClickHouse refuses none (`rejected` stays 0).
    for (const reason of ['schema', 'future_timestamp', 'rejected']) {
      expect(counted(topics.predictions, reason), reason).toBe(copiesOf(poison.predictions, reason));
      expect(counted(topics.labels, reason), reason).toBe(copiesOf(poison.labels, reason));
      expect(counted(topics.accessLog, reason), reason).toBe(copiesOf(poison.accessLog, reason));
    }
    expect(metrics).not.toMatch(/modelwatch_prediction_latency_seconds_sum\{[^}]*\} (Infinity|NaN|\+Inf)/);
    const ready = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  }, 120_000);

  it('a retried batch repeats only what failed: dead letters are published once, rows counted once', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const { sink, registry, letterSender } = letterSink(service, topics);
    const texts = [
      json(prediction(1)),
      withRaw(prediction(2), '"latency_ms":1e999'),
      json(label(1)),
      '{not json',
      json(prediction(3)),
    ];
    const items = texts.map((text, i) =>
      sink.decode({
        topic: i === 2 ? topics.labels : topics.predictions,
        partition: 0,
        offset: String(i),
        message: { value: Buffer.from(text) } as KafkaMessage,
      }),
    );

    // The labels insert fails (table detached): predictions are stored, the letters not yet sent.
    await service.platform.db.client.command({ query: 'DETACH TABLE labels' });
    const failed = await sink.write(items).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    expect(isRetryable(failed)).toBe(true);
    await service.platform.db.client.command({ query: 'ATTACH TABLE labels' });
    // The retry, then a second retry as after a later failure in the same batch.
    await sink.write(items);
    await sink.write(items);
    await letterSender.disconnect();

    const letters = await readAll(topics.deadLetter);
    expect(letters.map((m) => m.headers?.['modelwatch-reason']?.toString()).sort()).toEqual([
      'invalid_json',
      'schema',
    ]);
    expect(await service.rows('SELECT count() AS n FROM predictions')).toEqual([{ n: 2 }]);
    expect(await service.rows('SELECT count() AS n FROM labels')).toEqual([{ n: 1 }]);
    const counted = await registry.getSingleMetricAsString('modelwatch_messages_total');
    expect(counted).toContain(`modelwatch_messages_total{topic="${topics.predictions}",outcome="stored"} 2`);
    expect(counted).toContain(
      `modelwatch_messages_total{topic="${topics.predictions}",outcome="dead_letter"} 2`,
    );
    expect(counted).toContain(`modelwatch_messages_total{topic="${topics.labels}",outcome="stored"} 1`);
  }, 60_000);

  it('letters of any size: a flood is cut into sends the topic takes, and a letter too large for it goes without its value', async () => {
    const service = await startTestService();
    // A dead-letter topic that takes records of at most 60,000 bytes (a broker's default is ~1 MiB).
    const deadLetter = uniqueName('small-dead-letter');
    await createTopics([
      { topic: deadLetter, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '60000' }] },
    ]);
    const topics = { ...service.config.topics, deadLetter };
    const { sink, registry, letterSender } = letterSink(service, topics);
    // 40 bad messages of 20 kB (800 kB: one send by size, over the topic's limit), one of 100 kB.
    const texts = [
      ...Array.from({ length: 40 }, (_, i) => `{not json ${i} ${'x'.repeat(20_000)}`),
      `{not json big ${'y'.repeat(100_000)}`,
      json(prediction(1)),
    ];
    const items = texts.map((text, i) =>
      sink.decode({
        topic: topics.predictions,
        partition: 0,
        offset: String(i),
        message: { value: Buffer.from(text) } as KafkaMessage,
      }),
    );
    await sink.write(items);
    await letterSender.disconnect();

    const letters = await readAll(deadLetter);
    expect(letters).toHaveLength(41);
    const offsetOf = (m: KafkaMessage) => Number(m.headers?.['modelwatch-source-offset']?.toString());
    expect(letters.map(offsetOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    for (const letter of letters.filter((m) => offsetOf(m) < 40))
      expect(letter.value?.toString()).toBe(texts[offsetOf(letter)]);
    const big = letters.find((m) => offsetOf(m) === 40);
    expect(big?.value).toBeNull();
    expect(big?.headers?.['modelwatch-value-dropped']?.toString()).toBe(
      String(Buffer.byteLength(texts[40]!)),
    );
    expect(big?.headers?.['modelwatch-reason']?.toString()).toBe('invalid_json');
    expect(await service.rows('SELECT count() AS n FROM predictions')).toEqual([{ n: 1 }]);
    expect(await registry.getSingleMetricAsString('modelwatch_dead_letter_total')).toContain(
      `modelwatch_dead_letter_total{topic="${topics.predictions}",reason="invalid_json"} 41`,
    );
  }, 60_000);
});

describe('a poison message with a header whose value is null', () => {
  it('is lettered with its other headers: kafkajs cannot write a null header value, and the send threw for good', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const { sink, letterSender } = letterSink(service, topics);
    // Kafka headers may be null (Java: `headers.add("trace", null)`); kafkajs reads them as null.
    const headers = { trace: null, tenant: Buffer.from('acme'), hop: [Buffer.from('a'), null] };
    const item = sink.decode({
      topic: topics.predictions,
      partition: 0,
      offset: '0',
      message: {
        value: Buffer.from('{not json'),
        key: Buffer.from('k-1'),
        headers,
      } as unknown as KafkaMessage,
    });
    const written = await Promise.race([
      sink.write([item]).then(() => 'written'),
      new Promise((resolve) => setTimeout(resolve, 20_000, 'still failing')),
    ]).catch((err: unknown) => `failed: ${String(err)}`);
    await letterSender.disconnect();
    expect(written).toBe('written');

    const [letter, ...others] = await readAll(topics.deadLetter);
    expect(others).toEqual([]);
    expect(letter?.value?.toString()).toBe('{not json');
    expect(letter?.key?.toString()).toBe('k-1');
    const text = (v: unknown) => (Array.isArray(v) ? v.map((x) => String(x)) : String(v));
    expect(text(letter?.headers?.['tenant'])).toBe('acme');
    expect(text(letter?.headers?.['trace'])).toBe('');
    expect(text(letter?.headers?.['hop'])).toEqual(['a', '']);
    expect(letter?.headers?.['modelwatch-reason']?.toString()).toBe('invalid_json');
  }, 60_000);
});
