import type { Kafka, Producer, ProducerRecord, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createIdempotentSender } from '../../../src/platform/kafka/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';

/** A client whose producers take 5 ms a send and fail the sends whose value is `fail`. */
function fakeKafka() {
  const seen = { producers: 0, configs: [] as unknown[], inFlight: 0, maxInFlight: 0, disconnected: 0 };
  const producer = (config: unknown): Producer => {
    seen.producers += 1;
    seen.configs.push(config);
    return {
      connect: () => Promise.resolve(),
      disconnect: () => {
        seen.disconnected += 1;
        return Promise.resolve();
      },
      send: async (record: ProducerRecord): Promise<RecordMetadata[]> => {
        seen.inFlight += 1;
        seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.inFlight -= 1;
        if (record.messages.some((m) => m.value === 'fail')) throw new Error('request timed out');
        return [{ topicName: record.topic, partition: 0, errorCode: 0, baseOffset: '0' }];
      },
    } as unknown as Producer;
  };
  const admin = () => ({
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    fetchTopicMetadata: () =>
      Promise.resolve({
        topics: [{ name: 't', partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1] }] }],
      }),
  });
  return { kafka: { producer, admin } as unknown as Kafka, seen };
}

const logger = createLogger('silent', 'idempotent-sender-test');

describe('createIdempotentSender', () => {
  it('runs one send at a time through one idempotent producer', async () => {
    const { kafka, seen } = fakeKafka();
    const sender = createIdempotentSender(kafka, logger);
    await Promise.all(Array.from({ length: 6 }, (_, i) => sender.send('t', [{ value: `m-${i}` }])));
    expect(seen.maxInFlight).toBe(1);
    expect(seen.producers).toBe(1);
    expect(seen.configs[0]).toMatchObject({ idempotent: true, maxInFlightRequests: 1 });
  });

  it('replaces the producer after a failed send; sends queued behind it still go out', async () => {
    const { kafka, seen } = fakeKafka();
    const sender = createIdempotentSender(kafka, logger);
    const results = await Promise.allSettled([
      sender.send('t', [{ value: 'a' }]),
      sender.send('t', [{ value: 'fail' }]),
      sender.send('t', [{ value: 'b' }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(sender.renewed).toBe(1);
    expect(seen.producers).toBe(2);
    expect(seen.disconnected).toBe(1);
    await sender.disconnect();
    expect(seen.disconnected).toBe(2);
    await expect(sender.send('t', [{ value: 'late' }])).rejects.toThrow('closed');
    expect(seen.producers, 'no producer opened after disconnect').toBe(2);
  });
});
