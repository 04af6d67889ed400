import { isUtf8 } from 'node:buffer';
import type { Task } from '../models/index.js';
import { inferTask } from '../models/index.js';
import type { SourceMessage } from '../platform/kafka/index.js';
import type { DeadLetter } from './dead-letter.js';
import { RowBinaryWriter } from '../platform/clickhouse/index.js';
import { accessLogRow, labelRow, predictionRow } from './rows.js';
import {
  accessEventLoneSurrogate,
  checkAccessEvent,
  checkLabel,
  checkPrediction,
  labelLoneSurrogate,
  limitViolation,
  loneSurrogate,
  type EventLimits,
} from './validation.js';

export interface CollectorTopics {
  predictions: string;
  labels: string;
  accessLog: string;
  deadLetter: string;
}

export type Table = 'predictions' | 'labels' | 'access_log';

export interface PredictionFacts {
  model: string;
  version: string;
  /** The prediction id: with `model` and `time`, the table's key (the insert's order). */
  id: string;
  task: Task;
  time: number;
  latencyMs: number | null;
  isError: boolean;
}

/**
 * One consumed message: a row to store or a dead letter to send. `done` is set once it is
 * stored (or its letter acknowledged by Kafka), so a retried batch does not do it again.
 */
export type Decoded =
  | {
      ok: true;
      topic: string;
      table: Table;
      /** The row in its table's insert format: RowBinary for predictions, else one JSONEachRow line. */
      row: Buffer;
      source: SourceMessage;
      prediction?: PredictionFacts;
      done?: boolean;
    }
  | { ok: false; topic: string; letter: DeadLetter; done?: boolean };

export interface DecodeOptions extends EventLimits {
  topics: CollectorTopics;
  /** @default 1 MiB */
  maxMessageBytes: number;
  /** @default 86400000 (1 day) */
  maxFutureSkewMs: number;
  /** The ingest time. @default Date.now */
  now?: () => number;
}

export function deadLetter(source: SourceMessage, reason: DeadLetter['reason'], detail: string): Decoded {
  return { ok: false, topic: source.topic, letter: { source, reason, detail } };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Validates and reshapes one message; never throws (a message that cannot be read is a dead letter). */
export function createDecoder(options: DecodeOptions): (source: SourceMessage) => Decoded {
  const { topics } = options;
  const now = options.now ?? Date.now;
  const rowWriter = new RowBinaryWriter();

  /** A dead letter when the event time is too far past the ingest time: it must not move a watermark. */
  function fromTheFuture(source: SourceMessage, timestamp: number): Decoded | undefined {
    const ingest = now();
    if (timestamp - ingest <= options.maxFutureSkewMs) return undefined;
    const detail = `timestamp: ${iso(timestamp)} is more than ${options.maxFutureSkewMs} ms after the ingest time ${iso(ingest)} (MODELWATCH_MAX_FUTURE_SKEW)`;
    return deadLetter(source, 'future_timestamp', detail);
  }

  function route(source: SourceMessage, json: unknown): Decoded {
    switch (source.topic) {
      case topics.predictions: {
        const checked = checkPrediction(json);
        if (!checked.ok) return deadLetter(source, 'schema', checked.detail);
        const e = checked.event;
        const over = limitViolation(e, options) ?? loneSurrogate(e);
        if (over !== undefined) return deadLetter(source, 'schema', over);
        const late = fromTheFuture(source, e.timestamp);
        if (late) return late;
        const prediction = {
          model: e.model_id,
          version: e.model_version,
          id: e.prediction_id,
          task: inferTask(e.prediction, e.score),
          time: e.timestamp,
          latencyMs: e.latency_ms ?? null,
          isError: e.status === 'error',
        };
        return {
          ok: true,
          topic: source.topic,
          table: 'predictions',
          row: predictionRow(rowWriter, e),
          source,
          prediction,
        };
      }
      case topics.labels: {
        const checked = checkLabel(json);
        if (!checked.ok) return deadLetter(source, 'schema', checked.detail);
        const lone = labelLoneSurrogate(checked.event);
        if (lone !== undefined) return deadLetter(source, 'schema', lone);
        const late = fromTheFuture(source, checked.event.timestamp);
        if (late) return late;
        return {
          ok: true,
          topic: source.topic,
          table: 'labels',
          row: Buffer.from(labelRow(checked.event)),
          source,
        };
      }
      case topics.accessLog: {
        const checked = checkAccessEvent(json);
        if (!checked.ok) return deadLetter(source, 'schema', checked.detail);
        const lone = accessEventLoneSurrogate(checked.event);
        if (lone !== undefined) return deadLetter(source, 'schema', lone);
        const late = fromTheFuture(source, checked.event.timestamp);
        if (late) return late;
        return {
          ok: true,
          topic: source.topic,
          table: 'access_log',
          row: Buffer.from(accessLogRow(checked.event)),
          source,
        };
      }
      default:
        return deadLetter(source, 'unknown_topic', `no collector for topic ${source.topic}`);
    }
  }

  return (source) => {
    const bytes = source.message.value;
    if (!bytes || bytes.length === 0) return deadLetter(source, 'invalid_json', 'empty message value');
    if (bytes.length > options.maxMessageBytes) {
      return deadLetter(
        source,
        'oversize',
        `message is ${bytes.length} bytes; the limit is ${options.maxMessageBytes}`,
      );
    }
    // Decoding would turn each invalid sequence into U+FFFD, so two ids would become one (SPEC 3.2:
    // values are UTF-8). ~50 ns for an 800-byte event, 2% of decoding and parsing it.
    if (!isUtf8(bytes)) return deadLetter(source, 'invalid_json', 'not UTF-8');
    const text = bytes.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return deadLetter(source, 'invalid_json', err instanceof Error ? err.message : 'not JSON');
    }
    try {
      return route(source, json);
    } catch (err) {
      // Nothing a producer sends may stop its partition: an unforeseen failure is this message's alone.
      return deadLetter(
        source,
        'schema',
        `could not be read: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
}
