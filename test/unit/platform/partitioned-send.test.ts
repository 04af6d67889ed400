import { Partitioners, type Message, type PartitionMetadata, type ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isModelwatchError } from '../../../src/platform/errors.js';
import {
  bySize,
  groupByPartition,
  isMessageTooLarge,
  messageBytes,
  sendByPartition,
} from '../../../src/platform/kafka/index.js';

const meta = (leaders: number[]): PartitionMetadata[] =>
  leaders.map((leader, partitionId) => ({
    partitionId,
    leader,
    partitionErrorCode: 0,
    replicas: [leader],
    isr: [leader],
    offlineReplicas: [],
  }));

describe('groupByPartition', () => {
  it('puts every message in exactly one partition group; one key, one partition', () => {
    const messages: Message[] = Array.from({ length: 300 }, (_, i) => ({
      key: `p-${i % 100}`,
      value: String(i),
    }));
    const groups = groupByPartition('t', messages, meta([1, 2, 3]), Partitioners.DefaultPartitioner());
    const all = [...groups.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(messages.map((_, i) => i));
    expect([...groups.keys()].every((p) => p >= 0 && p < 3)).toBe(true);
    const partitionOfKey = new Map<string, number>();
    for (const [partition, indices] of groups)
      for (const i of indices) {
        const key = String(messages[i]?.key);
        expect(partitionOfKey.get(key) ?? partition, key).toBe(partition);
        partitionOfKey.set(key, partition);
      }
    expect(groups.size, '100 keys spread over the 3 partitions').toBe(3);
  });

  it('sends unkeyed messages only to partitions that have a leader, and keeps an explicit partition', () => {
    const messages: Message[] = Array.from({ length: 60 }, (_, i) => ({ value: String(i) }));
    const groups = groupByPartition('t', messages, meta([1, -1, 3]), Partitioners.DefaultPartitioner());
    expect([...groups.keys()].sort()).toEqual([0, 2]);
    const pinned = groupByPartition(
      't',
      [{ value: 'x', partition: 1 }],
      meta([1, -1, 3]),
      Partitioners.DefaultPartitioner(),
    );
    expect([...pinned]).toEqual([[1, [0]]]);
  });

  it('refuses a topic without known partitions with a retryable KAFKA_UNAVAILABLE', () => {
    let caught: unknown;
    try {
      groupByPartition('t', [{ value: 'x' }], [], Partitioners.DefaultPartitioner());
    } catch (err) {
      caught = err;
    }
    expect(isModelwatchError(caught, 'KAFKA_UNAVAILABLE') && caught.retryable).toBe(true);
  });
});

describe('sendByPartition', () => {
  it('sends each group to its partition alone and reports the acknowledged ones when another fails', async () => {
    const records: ProducerRecord[] = [];
    const producer = {
      send: (record: ProducerRecord) => {
        records.push(record);
        // The leader of partition 1 is gone: that send fails after the client's retries.
        if (record.messages[0]?.partition === 1) return Promise.reject(new Error('leader gone'));
        return Promise.resolve([]);
      },
    };
    const messages: Message[] = ['a', 'b', 'c', 'd'].map((value) => ({ value }));
    const groups = new Map([
      [0, [0, 2]],
      [1, [1]],
      [2, [3]],
    ]);
    const sent: number[] = [];
    let caught: unknown;
    try {
      await sendByPartition(producer, 't', messages, groups, { onSent: (ix) => sent.push(...ix) });
    } catch (err) {
      caught = err;
    }
    expect(isModelwatchError(caught, 'KAFKA_UNAVAILABLE') && caught.retryable).toBe(true);
    expect(sent.sort()).toEqual([0, 2, 3]);
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(new Set(record.messages.map((m) => m.partition)).size, 'one partition per send').toBe(1);
      expect(record.acks).toBe(-1);
    }
    expect(records.find((r) => r.messages[0]?.partition === 0)?.messages.map((m) => m.value)).toEqual([
      'a',
      'c',
    ]);
  });

  it("cuts a partition's messages into sends of at most maxBytes, in order, each acknowledged alone", async () => {
    const records: ProducerRecord[] = [];
    const producer = {
      send: (record: ProducerRecord) => {
        records.push(record);
        // The third send of partition 0 fails: the two before it stay acknowledged.
        if (
          record.messages[0]?.partition === 0 &&
          records.filter((r) => r.messages[0]?.partition === 0).length === 3
        )
          return Promise.reject(new Error('leader gone'));
        return Promise.resolve([]);
      },
    };
    const messages: Message[] = Array.from({ length: 10 }, (_, i) => ({ value: 'x'.repeat(300 + i) }));
    const groups = new Map([
      [0, [0, 1, 2, 3, 4, 5, 6, 7]],
      [1, [8, 9]],
    ]);
    const sent: number[][] = [];
    await expect(
      sendByPartition(producer, 't', messages, groups, { maxBytes: 800, onSent: (ix) => sent.push(ix) }),
    ).rejects.toThrow(/leader gone/);
    const partition0 = records.filter((r) => r.messages[0]?.partition === 0);
    expect(partition0.map((r) => r.messages.map((m) => m.value))).toEqual([
      [messages[0]!.value, messages[1]!.value],
      [messages[2]!.value, messages[3]!.value],
      [messages[4]!.value, messages[5]!.value],
    ]);
    for (const record of records)
      expect(record.messages.reduce((sum, m) => sum + messageBytes(m), 0)).toBeLessThanOrEqual(800);
    expect(sent.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [0, 1],
      [2, 3],
      [8, 9],
    ]);
  });
});

describe('bySize', () => {
  it('keeps every index once, in order, and gives a message over the limit a send of its own', () => {
    const messages: Message[] = [10, 10, 2_000, 10, 500, 500].map((n) => ({
      key: 'k',
      value: Buffer.alloc(n),
      headers: { h: ['a', Buffer.from('bc')] },
    }));
    const runs = bySize(messages, [0, 1, 2, 3, 4, 5], 1_000);
    expect(runs).toEqual([[0, 1], [2], [3, 4], [5]]);
    expect(messageBytes(messages[0]!)).toBe(64 + 1 + 10 + 1 + 1 + 2);
  });
});

describe('isMessageTooLarge', () => {
  it("finds kafkajs' MESSAGE_TOO_LARGE through the causes of wrapping errors, and nothing else", () => {
    const protocol = Object.assign(new Error('larger than the max message size'), {
      type: 'MESSAGE_TOO_LARGE',
    });
    expect(
      isMessageTooLarge(new Error('send to t', { cause: new Error('retries', { cause: protocol }) })),
    ).toBe(true);
    expect(isMessageTooLarge(Object.assign(new Error('x'), { type: 'NOT_LEADER_FOR_PARTITION' }))).toBe(
      false,
    );
    expect(isMessageTooLarge('MESSAGE_TOO_LARGE')).toBe(false);
  });
});
