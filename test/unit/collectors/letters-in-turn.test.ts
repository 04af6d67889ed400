import type { KafkaMessage, Message } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PartitionedSender } from '../../../src/platform/kafka/index.js';
import { testCollectorSink } from '../../support/collector-sink.js';

/** A sender whose sends wait until released, as they do while a broker restarts. */
function heldSender() {
  const sent: Message[] = [];
  const waiting: (() => void)[] = [];
  const letters: PartitionedSender = {
    async send(_topic, messages, options) {
      await new Promise<void>((resolve) => waiting.push(resolve));
      sent.push(...messages);
      options?.onSent?.(
        messages.map((_, i) => i),
        { partition: 0, baseOffset: String(sent.length - messages.length) },
      );
    },
  };
  return { letters, sent, release: () => waiting.splice(0).forEach((go) => go()), waiting };
}

describe('dead letters of batches written at once', () => {
  it('letters a poison message read again by a later batch once, while the first letter is still being sent', async () => {
    const { letters, sent, release, waiting } = heldSender();
    const registry = new Registry();
    const sink = testCollectorSink(registry, { letters });
    // The same source message, as the batch before a rebalance and the one read again after it hold it.
    const poison = () =>
      sink.decode({
        topic: 'p',
        partition: 1,
        offset: '727',
        message: {
          key: null,
          value: Buffer.from('poison-1'),
          offset: '727',
          headers: {},
        } as unknown as KafkaMessage,
      });
    const first = sink.write([poison()]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = sink.write([poison()]);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(waiting).toHaveLength(1);
    release();
    await Promise.all([first, second]);
    expect(sent.map((m) => String(m.headers?.['modelwatch-source-offset']))).toEqual(['727']);
    expect(await registry.metrics()).toMatch(
      /modelwatch_dead_letter_total\{topic="p",reason="[a-z_]+"\} 1\n/,
    );
  });
});
