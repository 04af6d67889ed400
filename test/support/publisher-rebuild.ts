import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { expect } from 'vitest';
import type { LocalCluster } from '../../src/platform/kafka/index.js';
import {
  TRIGGER_ID_HEADER,
  TriggerPublisher,
  triggers,
  type TriggerPayload,
} from '../../src/triggers/index.js';
import { uniqueName, waitFor } from './harness.js';
import { startTestService } from './service.js';

export interface RebuildFigures {
  /** From the last broker killed until the publisher reported itself not running. */
  notRunningAfterMs: number;
  /** From the brokers answering again until a pending trigger was on the topic. */
  publishedAfterMs: number;
  restarts: number;
}

/**
 * The retrain publisher when kafkajs gives up on its consumer: every broker SIGKILLed, so the
 * consumer crashes; kafkajs is told never to restart it (`restartOnFailure`, its own switch), so
 * only the publisher's rebuild can bring it back. The publisher must report not running while it
 * has no consumer, rejoin once the brokers are back, and publish a pending trigger exactly once.
 */
export async function publisherThroughOutage(cluster: LocalCluster): Promise<RebuildFigures> {
  const service = await startTestService({
    MODELWATCH_KAFKA_BROKERS: cluster.brokers.join(','),
    // Warnings too: the publisher's rebuild attempts are logged at warn.
    MODELWATCH_LOG_LEVEL: 'warn',
  });
  // The service's own publisher stays out: this one is the only publisher of the topic.
  await service.use(triggers).publisher.stop();
  const kafka = new Kafka({
    brokers: cluster.brokers,
    clientId: 'publisher-rebuild-test',
    logLevel: logLevel.NOTHING,
    retry: {
      retries: 3,
      initialRetryTime: 200,
      maxRetryTime: 2_000,
      restartOnFailure: () => Promise.resolve(false),
    },
  });
  const topic = service.config.topics.retrain;
  const sent: string[] = [];
  const publisher = new TriggerPublisher({
    kafka,
    store: service.use(triggers).store,
    topic,
    groupId: `${service.config.ingest.consumerGroup}-rebuild-publisher`,
    logger: service.platform.logger,
    sessionTimeoutMs: 6_000,
    intervalMs: 500,
    onPublished: (p) => void sent.push(p.trigger_id),
  });
  await publisher.start();
  // What the publisher saw (issue 13: one run in the full fault file published nothing in 240 s).
  const seen = (err: unknown) => {
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}; the publisher saw: ${JSON.stringify(publisher.diagnostics())}`,
    );
  };
  try {
    await waitFor('the publisher owns the topic', () =>
      Promise.resolve(publisher.assignment.length === 3 ? true : undefined),
    );
    expect(publisher.running).toBe(true);
    for (const node of cluster.nodes) await cluster.kill(node.id, 'SIGKILL');
    const down = Date.now();
    await waitFor(
      'the publisher reports not running',
      () => Promise.resolve(publisher.running ? undefined : true),
      120_000,
    ).catch(seen);
    const notRunningAfterMs = Date.now() - down;
    await Promise.all(cluster.nodes.map((node) => cluster.start(node.id)));
    const back = Date.now();
    const payload: TriggerPayload = {
      trigger_id: randomUUID(),
      model_id: 'rebuild',
      model_version: '1',
      reason: 'drift',
      window: { start: '2026-03-02T00:00:00.000Z', end: '2026-03-02T01:00:00.000Z' },
      evidence: {},
      policy: {},
      created_at: new Date().toISOString(),
    };
    await service.use(triggers).store.insert([payload]);
    await waitFor(
      'the pending trigger published',
      () => Promise.resolve(sent.includes(payload.trigger_id) ? true : undefined),
      240_000,
    ).catch(seen);
    const publishedAfterMs = Date.now() - back;
    expect(publisher.running, 'running again').toBe(true);
    expect(publisher.restarts, 'rebuilt by the publisher, not restarted by kafkajs').toBeGreaterThan(0);
    expect(await copiesOnTopic(kafka, topic, payload.trigger_id), 'the trigger is on the topic once').toBe(1);
    expect(sent).toEqual([payload.trigger_id]);
    return { notRunningAfterMs, publishedAfterMs, restarts: publisher.restarts };
  } finally {
    console.log(`[publisher trail] ${JSON.stringify(publisher.diagnostics())}`);
    await publisher.stop();
  }
}

/**
 * Copies of a trigger on the topic, read_committed from the start until 5 s pass without a new
 * batch (end offsets do not say it: transaction markers take offsets too).
 */
async function copiesOnTopic(kafka: Kafka, topic: string, triggerId: string): Promise<number> {
  let copies = 0;
  let last = Date.now();
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  consumer.on(consumer.events.END_BATCH_PROCESS, () => (last = Date.now()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        if (message.headers?.[TRIGGER_ID_HEADER]?.toString() === triggerId) copies += 1;
        last = Date.now();
        return Promise.resolve();
      },
    });
    await waitFor(
      'the topic read',
      () => Promise.resolve(copies > 0 && Date.now() - last > 5_000 ? true : undefined),
      120_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return copies;
}
