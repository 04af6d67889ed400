import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCollectors, createIngestMetrics } from '../../src/collectors/index.js';
import { prediction } from '../support/events.js';
import { produce, waitFor, waitForGroupAtEnd } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import { models } from '../../src/models/index.js';
import { createIdempotentSender } from '../../src/platform/kafka/index.js';

describe('a second instance joining the consumer group', () => {
  it('takes over partitions mid-stream; every prediction is stored once as the API reads it', async () => {
    const service = await startTestService({ MODELWATCH_BATCH_MAX_ROWS: '500' });
    const { config, platform: deps } = service;
    const total = 12_000;
    await produce(
      config.topics.predictions,
      Array.from({ length: total / 2 }, (_, i) => prediction(i)),
    );

    const secondRegistry = new Registry();
    const secondLetters = createIdempotentSender(deps.kafka, deps.logger);
    const second = createCollectors({
      kafka: deps.kafka,
      letters: secondLetters,
      db: deps.db,
      models: service.use(models).registry,
      metrics: createIngestMetrics(secondRegistry),
      topics: config.topics,
      ingest: config.ingest,
      logger: deps.logger,
    });
    await second.start();
    await produce(
      config.topics.predictions,
      Array.from({ length: total / 2 }, (_, i) => prediction(total / 2 + i)),
    );

    await waitForGroupAtEnd(config.ingest.consumerGroup, config.topics.predictions, 120_000);
    await waitFor('every prediction stored', async () => {
      const [row] = await service.rows<{ c: number }>('SELECT count() AS c FROM predictions FINAL');
      return row?.c === total ? true : undefined;
    });
    await second.stop();
    await secondLetters.disconnect();

    const storedBySecond =
      (await secondRegistry.getSingleMetric('modelwatch_messages_total')?.get())?.values.reduce(
        (s, v) => s + v.value,
        0,
      ) ?? 0;
    expect(
      storedBySecond,
      'the joining instance was assigned partitions and stored messages',
    ).toBeGreaterThan(0);
    const [row] = await service.rows<{ final: number; ids: number }>(
      'SELECT (SELECT count() FROM predictions FINAL) AS final, (SELECT uniqExact(prediction_id) FROM predictions) AS ids',
    );
    expect(row).toEqual({ final: total, ids: total });
  }, 180_000);
});
