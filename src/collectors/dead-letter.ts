import type { IHeaders, Message } from 'kafkajs';
import type { SourceMessage } from '../platform/kafka/index.js';

/**
 * Why a message went to the dead-letter topic (README, "Delivery"):
 * - `invalid_json`: empty, not UTF-8, or not JSON;
 * - `schema`: breaks the event schema or a limit (features per event, name length), naming the field;
 * - `oversize`: larger than MODELWATCH_MAX_MESSAGE_BYTES;
 * - `future_timestamp`: event time more than MODELWATCH_MAX_FUTURE_SKEW after the ingest time;
 * - `rejected`: valid, but ClickHouse refused the row (its error is the `modelwatch-error` header);
 * - `unknown_topic`: no collector reads that topic.
 */
export const DEAD_LETTER_REASONS = [
  'invalid_json',
  'schema',
  'oversize',
  'future_timestamp',
  'rejected',
  'unknown_topic',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface DeadLetter {
  source: SourceMessage;
  reason: DeadLetterReason;
  detail: string;
}

/** The original bytes and key, untouched, with headers saying where they came from and why. */
export function deadLetterMessage({ source, reason, detail }: DeadLetter): Message {
  const headers: IHeaders = {
    ...writableHeaders(source.message.headers),
    'modelwatch-source-topic': source.topic,
    'modelwatch-source-partition': String(source.partition),
    'modelwatch-source-offset': source.offset,
    'modelwatch-reason': reason,
    'modelwatch-error': detail.slice(0, 1_000),
    'modelwatch-failed-at': new Date().toISOString(),
  };
  return { key: source.message.key, value: source.message.value, headers };
}

const EMPTY = Buffer.alloc(0);

/**
 * The source's headers as kafkajs can send them. Kafka allows a null header value and kafkajs reads
 * one as null, but its producer throws sizing it (2.2.4: `Buffer.byteLength(null)`), so the
 * letter's send failed on every retry and its partition stopped. Such a value goes out empty.
 */
function writableHeaders(headers: IHeaders | undefined): IHeaders {
  const orEmpty = (value: Buffer | string | null | undefined) => value ?? EMPTY;
  // fromEntries, not assignment: a header named `__proto__` stays a header.
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.map(orEmpty) : orEmpty(value),
    ]),
  );
}

/**
 * Which source message a letter is for (`topic/partition/offset`, from its headers, sent or read
 * back), so that a send repeated after a failure finds the letters already written.
 */
export function letterSource(letter: { headers?: IHeaders }): string | undefined {
  const header = (name: string) => letter.headers?.[name]?.toString();
  const [topic, partition, offset] = [
    header('modelwatch-source-topic'),
    header('modelwatch-source-partition'),
    header('modelwatch-source-offset'),
  ];
  return topic === undefined || partition === undefined || offset === undefined
    ? undefined
    : `${topic}/${partition}/${offset}`;
}

/**
 * A letter the dead-letter topic refuses as too large even alone (its `max.message.bytes` is
 * below the source topic's): the source's position, the reason and the error still go out, with
 * the value's size in `modelwatch-value-dropped`; the original stays readable at its source offset
 * for as long as that topic keeps it. Without this, the letter's batch would be retried forever.
 */
export function withoutValue(letter: Message): Message {
  const headers = Object.fromEntries(
    Object.entries(letter.headers ?? {}).filter(([name]) => name.startsWith('modelwatch-')),
  );
  const bytes = letter.value === null ? 0 : Buffer.byteLength(letter.value);
  return { key: letter.key, value: null, headers: { ...headers, 'modelwatch-value-dropped': String(bytes) } };
}
