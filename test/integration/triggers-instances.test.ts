import { describe, expect, it, vi } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { capabilities } from '../../src/service/capabilities.js';
import { partitionOf, TriggerPublisher, triggers, type TriggerPayload } from '../../src/triggers/index.js';
import { prediction } from '../support/events.js';
import { isolatedEnv, produce, testKafka, uniqueName, waitFor } from '../support/harness.js';
import { ensureTopics } from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { FencedProducers } from '../../src/triggers/publish/fenced-producers.js';
import { startTestService, type TestService } from '../support/service.js';
import { messageCount, put, readTopic, waitForModel } from '../support/triggers.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);
const PER_HOUR = 100;

function events() {
  return Array.from({ length: 4 * PER_HOUR }, (_, i) =>
    prediction(i, {
      model_id: 'twin',
      model_version: '1',
      timestamp: T0 + Math.floor((i * HOUR) / PER_HOUR),
      features: { a: ((i * 7919) % 100) / 100 + (i >= 2 * PER_HOUR ? 3 : 0) },
    }),
  );
}

const counted = async (service: TestService) => {
  const body = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(
    /modelwatch_retrain_triggers_total\{model="twin",reason="drift"\} (\d+)/.exec(body)?.[1] ?? 0,
  );
};

describe('two instances in one group', () => {
  it('publish a trigger both found exactly once; a publisher that finds it on the topic does not send it again, and audits it if it was not', async () => {
    // Both instances hold each send for 1.5 s (test-only hook), so both have the trigger in hand
    // at the same time: only partition ownership keeps the second send out.
    const env = isolatedEnv({
      MODELWATCH_RETRAIN_INTERVAL_MS: '500',
      MODELWATCH_RETRAIN_PUBLISH_DELAY_MS: '1500',
    });
    const a = await startTestService(env);
    // The second instance shares the process (and so the embedded ClickHouse); without the
    // collectors, whose spool files are named by process id and would collide with the first's.
    const b = await startTestService(env, {
      capabilities: capabilities.filter((c) => c.name !== 'collectors'),
    });
    const topic = a.config.topics.retrain;
    // Every trigger either instance's evaluator stores, from any pass (they share the one store).
    const inserts = [a, b].map((service) => vi.spyOn(service.use(triggers).store, 'insert'));
    const inserted = () =>
      inserts.flatMap((spy) => spy.mock.calls.flatMap(([payloads]) => payloads.map((p) => p.trigger_id)));
    // Both are members of the publisher group and split the retrain topic's 3 partitions.
    await waitFor('both publishers assigned', () => {
      const [pa, pb] = [a.use(triggers).publisher.assignment, b.use(triggers).publisher.assignment];
      return Promise.resolve(
        pa.length > 0 && pb.length > 0 && pa.length + pb.length === 3 ? true : undefined,
      );
    });

    await produce(a.config.topics.predictions, events());
    await waitFor('every prediction stored', async () => {
      const [row] = await a.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
      return row?.n === 4 * PER_HOUR ? true : undefined;
    });
    await waitForModel(a, 'twin');
    const retrain = { drift: { columns: ['a'], consecutive_windows: 1 } };
    expect(
      (
        await put(a, '/api/v1/models/twin/policy', {
          drift: { evaluation_window: '1h', allowed_lateness: '0s' },
          retrain,
        })
      ).status,
    ).toBe(200);
    expect(
      (await put(a, '/api/v1/models/twin/versions/1/reference', { from: T0, to: T0 + 2 * HOUR })).status,
    ).toBe(200);
    await Promise.all([a.use(drift).evaluator.runOnce(), b.use(drift).evaluator.runOnce()]);
    // Both instances judge the same windows (their background loops too) and find the same trigger.
    await Promise.all([a.use(triggers).evaluator.runOnce(), b.use(triggers).evaluator.runOnce()]);
    const stored = await a.use(triggers).store.list({ modelId: 'twin', limit: 10 });
    expect(stored.map((t) => t.window.start)).toEqual([new Date(T0 + 2 * HOUR).toISOString()]);
    // Whichever pass stored it (runOnce returns only what its own pass stored, and a background
    // pass may come first), every trigger either instance stored is that one: never none.
    expect([...new Set(inserted())]).toEqual([stored[0]!.trigger_id]);

    await waitFor('published', async () =>
      (await a.use(triggers).store.list({ limit: 10 }))[0]?.published ? true : undefined,
    );
    // Another evaluation each (a second trigger would be stored by now), then two more publishing
    // passes each (a kick resolves when its pass is done): a publisher that would send the trigger
    // again, or send a second one, has sent it by now.
    await Promise.all([a.use(triggers).evaluator.runOnce(), b.use(triggers).evaluator.runOnce()]);
    for (let pass = 0; pass < 2; pass++)
      await Promise.all([a.use(triggers).publisher.kick(), b.use(triggers).publisher.kick()]);
    const messages = await readTopic(topic);
    expect(messages).toHaveLength(1);
    const payload = messages[0]!.value as unknown as TriggerPayload;
    expect(payload.trigger_id).toBe(stored[0]!.trigger_id);
    expect(messages[0]!.partition).toBe(partitionOf(topic, 'twin', 3));
    expect((await counted(a)) + (await counted(b))).toBe(1);

    // Both publishers stop; the delivery and audit records are lost (as after a crash between the
    // commit and the audit). A new publisher owns every partition, reads the message back, records
    // it and audits it: the first audit fails (an audit-topic blip) and a later pass retries it.
    await a.use(triggers).publisher.stop();
    await b.use(triggers).publisher.stop();
    for (const table of ['retrain_trigger_deliveries', 'retrain_trigger_audits'])
      await a.platform.db.client.command({ query: `TRUNCATE TABLE ${table}` });
    expect((await a.use(triggers).store.list({ limit: 10 }))[0]?.published).toBe(false);
    const sent: TriggerPayload[] = [];
    let blips = 1;
    const fresh = new TriggerPublisher({
      kafka: a.platform.kafka,
      store: a.use(triggers).store,
      topic,
      groupId: `${a.config.ingest.consumerGroup}-retrain-publisher`,
      logger: a.platform.logger,
      sessionTimeoutMs: 6_000,
      intervalMs: 500,
      onPublished: (p) => {
        if (blips-- > 0) throw new Error('the audit topic is unreachable');
        sent.push(p);
      },
    });
    await fresh.start();
    try {
      const [again] = await waitFor('the delivery recorded from the topic', async () => {
        const listed = await a.use(triggers).store.list({ limit: 10 });
        return listed[0]?.published ? listed : undefined;
      });
      expect(again).toMatchObject({
        trigger_id: payload.trigger_id,
        partition: messages[0]!.partition,
        offset: messages[0]!.offset,
      });
      expect(fresh.assignment).toEqual([0, 1, 2]);
      await waitFor('the recovered trigger audited', () =>
        Promise.resolve(sent.length > 0 ? true : undefined),
      );
      // After a pass, so the audit's own pass has recorded it; later passes leave it alone.
      await fresh.kick();
      expect(await a.use(triggers).store.unaudited()).toEqual([]);
      await fresh.kick();
    } finally {
      await fresh.stop();
    }
    expect(blips).toBeLessThan(0);
    expect(sent).toEqual([payload]);
    expect(await messageCount(topic)).toBe(1);
  }, 120_000);
});

describe('a zombie publisher', () => {
  it('cannot commit once another instance claimed its partition; readers see only the owner', async () => {
    const kafka = testKafka();
    const topic = uniqueName('zombie');
    await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
    const logger = createLogger('warn', 'zombie-test');
    const prefix = uniqueName('zombie-tx');
    const zombie = new FencedProducers(kafka, prefix, logger);
    const owner = new FencedProducers(kafka, prefix, logger);
    try {
      await zombie.claim(1);
      expect(
        await zombie.send(topic, 1, { key: 'z', value: JSON.stringify({ trigger_id: 'zombie-before' }) }),
      ).toBe('0');
      await owner.claim(1);
      const late = await zombie
        .send(topic, 1, { key: 'z', value: JSON.stringify({ trigger_id: 'zombie-after' }) })
        .catch((err: unknown) => err);
      expect(late).toMatchObject({ code: 'PUBLISH_FAILED', retryable: false });
      await owner.send(topic, 1, { key: 'o', value: JSON.stringify({ trigger_id: 'owner' }) });
    } finally {
      await zombie.releaseAll();
      await owner.releaseAll();
    }
    const values = (await readTopic(topic)).map((m) => [m.partition, m.value['trigger_id']]);
    expect(values).toEqual([
      [1, 'zombie-before'],
      [1, 'owner'],
    ]);
  }, 60_000);
});

describe("one partition's publisher", () => {
  it('commits concurrent sends one transaction after another, each once', async () => {
    const kafka = testKafka();
    const topic = uniqueName('concurrent');
    await ensureTopics(kafka, [{ topic, numPartitions: 2 }]);
    const producers = new FencedProducers(kafka, uniqueName('concurrent-tx'), createLogger('warn', 'test'));
    try {
      await producers.claim(0);
      // Without the queue, kafkajs refused the second open transaction of the producer.
      const offsets = await Promise.all(
        ['a', 'b', 'c', 'd', 'e'].map((id) =>
          producers.send(topic, 0, { key: id, value: JSON.stringify({ trigger_id: id }) }),
        ),
      );
      expect(new Set(offsets).size).toBe(5);
    } finally {
      await producers.releaseAll();
    }
    const ids = (await readTopic(topic)).map((m) => m.value['trigger_id']);
    expect([...ids].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  }, 60_000);
});
