import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/platform/errors.js';
import { ensureTopics } from '../../src/platform/kafka/index.js';
import { testKafka, uniqueName } from '../support/harness.js';

/**
 * An audit topic (`keepForever`) is created with no retention by age or size, so records that
 * wait in it while their chain is held are never deleted; an existing one is left as it is and
 * a finite retention is logged. Before, every topic got the broker's default (7 days here).
 */

async function retentionOf(topic: string): Promise<Record<string, string>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'retention.bytes'] },
      ],
    });
    return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  } finally {
    await admin.disconnect();
  }
}

function recordingLogger() {
  const warnings: { details: object; message: string }[] = [];
  return { warnings, warn: (details: object, message: string) => warnings.push({ details, message }) };
}

describe('ensureTopics', () => {
  it('creates a keepForever topic with retention.ms and retention.bytes -1, others with the default', async () => {
    const audit = uniqueName('audit-events');
    const other = uniqueName('predictions');
    const created = await ensureTopics(testKafka(), [
      { topic: audit, numPartitions: 2, keepForever: true },
      { topic: other, numPartitions: 2 },
    ]);
    expect(created.sort()).toEqual([audit, other].sort());
    expect(await retentionOf(audit)).toEqual({ 'retention.ms': '-1', 'retention.bytes': '-1' });
    expect((await retentionOf(other))['retention.ms']).not.toBe('-1');
  });

  it('leaves an existing topic as it is and warns when it deletes records', async () => {
    const finite = uniqueName('audit-events');
    const kept = uniqueName('audit-digests');
    await ensureTopics(testKafka(), [
      { topic: finite, numPartitions: 1 },
      { topic: kept, numPartitions: 1, keepForever: true },
    ]);
    const before = await retentionOf(finite);
    expect(before['retention.ms']).not.toBe('-1');

    const logger = recordingLogger();
    const created = await ensureTopics(
      testKafka(),
      [
        { topic: finite, numPartitions: 1, keepForever: true },
        { topic: kept, numPartitions: 1, keepForever: true },
      ],
      { logger },
    );
    expect(created).toEqual([]);
    expect(await retentionOf(finite)).toEqual(before);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]?.details).toEqual({
      topic: finite,
      retention: { 'retention.ms': before['retention.ms'] },
    });
    expect(logger.warnings[0]?.message).toContain('retention.ms=-1');
  });

  it('names each topic Kafka refused and its reason', async () => {
    const fine = uniqueName('predictions');
    // '..' passes kafkajs' own checks; the broker refuses it.
    const refused = await ensureTopics(testKafka(), [
      { topic: fine, numPartitions: 1 },
      { topic: '..', numPartitions: 1 },
    ]).then(
      () => undefined,
      (err: unknown) => errorMessage(err),
    );
    expect(refused).toMatch(/^could not create Kafka topics: Topic creation errors: '\.\.': \S.+/);
    expect(refused).not.toContain(fine);
  });
});
