import type { IHeaders, Message } from 'kafkajs';
import type { SourceMessage } from '../platform/kafka/index.js';

export type DeadLetterReason = 'invalid_json' | 'schema' | 'oversize' | 'unknown_topic';

export interface DeadLetter {
  source: SourceMessage;
  reason: DeadLetterReason;
  detail: string;
}

/** The original bytes and key, untouched, with headers saying where they came from and why. */
export function deadLetterMessage({ source, reason, detail }: DeadLetter): Message {
  const headers: IHeaders = {
    ...source.message.headers,
    'modelwatch-source-topic': source.topic,
    'modelwatch-source-partition': String(source.partition),
    'modelwatch-source-offset': source.offset,
    'modelwatch-reason': reason,
    'modelwatch-error': detail.slice(0, 1_000),
    'modelwatch-failed-at': new Date().toISOString(),
  };
  return { key: source.message.key, value: source.message.value, headers };
}
