import { describe, expect, it } from 'vitest';
import { audit, createAuditConsumer, verifyStore } from '../../src/audit/index.js';
import { accessEvent } from '../support/events.js';
import { produce, testKafka, uniqueName, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

/** Messages per partition of `topic` (its high offsets; the test producer may write a retried send twice). */
async function partitionEnds(topic: string): Promise<Map<number, number>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

describe('audit chains across two instances of one group', () => {
  it('a partition moved mid-stream (one instance stopped): every chain verifies, no position repeated or skipped', async () => {
    const group = uniqueName('audit-group');
    const service = await startTestService({
      MODELWATCH_AUDIT_CONSUMER_GROUP: group,
      MODELWATCH_AUDIT_BATCH_MAX_MS: '100',
    });
    const { config, platform } = service;
    const first = service.use(audit);
    let writtenBySecond = 0;
    const second = createAuditConsumer({
      kafka: platform.kafka,
      db: platform.db,
      groupId: group,
      accessLogTopic: config.topics.accessLog,
      auditTopic: config.audit.topic,
      logger: platform.logger,
      maxMs: 100,
      sessionTimeoutMs: config.ingest.sessionTimeoutMs,
      onAppend: () => {
        writtenBySecond += 1;
      },
    });
    const changes = (from: number, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          first.log.change({
            principal: 'admin',
            action: 'key.create',
            resource_type: 'api_key',
            resource_id: `k${from + i}`,
            details: { role: 'viewer' },
          }),
        ),
      );
    const accesses = (from: number, n: number) =>
      produce(
        config.topics.accessLog,
        Array.from({ length: n }, (_, i) => accessEvent(from + i)),
      );

    await Promise.all([changes(0, 300), accesses(0, 300)]);
    await second.start();
    await Promise.all([changes(300, 300), accesses(300, 300)]);
    // The first instance leaves mid-stream: its partitions move to the second.
    await first.consumer.stop();
    await Promise.all([changes(600, 300), accesses(600, 300)]);

    const expected = new Map<string, number>();
    for (const topic of [config.topics.accessLog, config.audit.topic]) {
      for (const [partition, high] of await partitionEnds(topic))
        if (high > 0) expected.set(`${topic}/${partition}`, high);
    }
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(1_800);
    await waitFor(
      'every message chained',
      async () => {
        const [row] = await service.rows<{ n: number }>(
          'SELECT count() AS n FROM (SELECT DISTINCT chain, position FROM audit_events)',
        );
        return row?.n === total ? true : undefined;
      },
      90_000,
    );
    await second.stop();

    const chains = await service.rows<{
      chain: string;
      rows: number;
      positions: number;
      max_position: number;
      offsets: number;
    }>(
      'SELECT chain, count() AS rows, uniqExact(position) AS positions, max(position) AS max_position, uniqExact(source_offset) AS offsets FROM audit_events GROUP BY chain ORDER BY chain',
    );
    expect(Object.fromEntries(chains.map((c) => [c.chain, c.rows]))).toEqual(Object.fromEntries(expected));
    for (const c of chains) {
      // Each position once, 1..n with no gap, each Kafka offset chained once.
      expect(c, c.chain).toEqual({
        chain: c.chain,
        rows: c.rows,
        positions: c.rows,
        max_position: c.rows,
        offsets: c.rows,
      });
    }
    const report = await verifyStore(platform.db);
    expect(report.first_broken).toBeUndefined();
    expect(report).toMatchObject({ ok: true, checked: total });
    expect(
      writtenBySecond,
      'the second instance chained records after taking partitions over',
    ).toBeGreaterThan(0);
  }, 180_000);
});
