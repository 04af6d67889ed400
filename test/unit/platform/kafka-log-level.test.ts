import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogLevel } from '../../../src/platform/kafka/client.js';

describe("kafkajs' log entries in ours", () => {
  it('keeps the level kafkajs gives by default', () => {
    expect(kafkaLogLevel('Consumer', logLevel.ERROR, { message: 'Crash: KafkaJSNonRetriableError' })).toBe(
      'error',
    );
    expect(kafkaLogLevel('Consumer', logLevel.WARN, { message: 'something odd' })).toBe('warn');
    expect(kafkaLogLevel('Consumer', logLevel.INFO, { message: 'Starting' })).toBe('info');
  });

  it('turns a retry in progress into a warning: kafkajs retries, and a failure that outlasts it is ours to report', () => {
    const retry = {
      message:
        'Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
      retryCount: 0,
      retryTime: 191,
    };
    expect(kafkaLogLevel('Producer', logLevel.ERROR, retry)).toBe('warn');
  });

  it("puts the Connection layer's retriable answers and the known warnings at debug", () => {
    expect(
      kafkaLogLevel('Connection', logLevel.ERROR, { message: 'Response Heartbeat(key: 12, version: 3)' }),
    ).toBe('debug');
    expect(
      kafkaLogLevel('', logLevel.WARN, {
        message: 'KafkaJS v2.0.0 switched default partitioner. To retain …',
      }),
    ).toBe('debug');
  });
});
