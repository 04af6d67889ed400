import type { Producer } from 'kafkajs';
import type { ModelRegistry, Task } from '../models/index.js';
import { inferTask } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import type { BatchSink, SourceMessage } from '../platform/kafka/index.js';
import { deadLetterMessage, type DeadLetter } from './dead-letter.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { accessLogRow, labelRow, predictionInputLine } from './rows.js';
import { PREDICTION_INPUT_COLUMNS } from './schema.js';
import { checkAccessEvent, checkLabel, checkPrediction } from './validation.js';

export interface CollectorTopics {
  predictions: string;
  labels: string;
  accessLog: string;
  deadLetter: string;
}

type Table = 'predictions_input' | 'labels' | 'access_log';

interface PredictionFacts {
  model: string;
  version: string;
  task: Task;
  time: number;
  latencyMs: number | null;
  isError: boolean;
}

export type Decoded =
  | { ok: true; topic: string; table: Table; line: string; prediction?: PredictionFacts }
  | { ok: false; topic: string; letter: DeadLetter };

export interface CollectorSinkDeps {
  db: Database;
  producer: Producer;
  models: ModelRegistry;
  metrics: IngestMetrics;
  topics: CollectorTopics;
  maxMessageBytes: number;
}

/** Validates and reshapes each message as it arrives; writes a flushed batch table by table. */
export function createCollectorSink(deps: CollectorSinkDeps): BatchSink<Decoded> {
  const { topics } = deps;
  const dead = (source: SourceMessage, reason: DeadLetter['reason'], detail: string): Decoded => ({
    ok: false,
    topic: source.topic,
    letter: { source, reason, detail },
  });

  function decode(source: SourceMessage): Decoded {
    const bytes = source.message.value;
    if (!bytes || bytes.length === 0) return dead(source, 'invalid_json', 'empty message value');
    if (bytes.length > deps.maxMessageBytes) {
      return dead(source, 'oversize', `message is ${bytes.length} bytes; the limit is ${deps.maxMessageBytes}`);
    }
    const text = bytes.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return dead(source, 'invalid_json', err instanceof Error ? err.message : 'not JSON');
    }
    switch (source.topic) {
      case topics.predictions: {
        const checked = checkPrediction(json);
        if (!checked.ok) return dead(source, 'schema', checked.detail);
        const e = checked.event;
        return {
          ok: true,
          topic: source.topic,
          table: 'predictions_input',
          line: predictionInputLine(e, text),
          prediction: {
            model: e.model_id,
            version: e.model_version,
            task: inferTask(e.prediction, e.score),
            time: e.timestamp,
            latencyMs: e.latency_ms ?? null,
            isError: e.status === 'error',
          },
        };
      }
      case topics.labels: {
        const checked = checkLabel(json);
        return checked.ok
          ? { ok: true, topic: source.topic, table: 'labels', line: labelRow(checked.event) }
          : dead(source, 'schema', checked.detail);
      }
      case topics.accessLog: {
        const checked = checkAccessEvent(json);
        return checked.ok
          ? { ok: true, topic: source.topic, table: 'access_log', line: accessLogRow(checked.event) }
          : dead(source, 'schema', checked.detail);
      }
      default:
        return dead(source, 'unknown_topic', `no collector for topic ${source.topic}`);
    }
  }

  async function write(items: Decoded[]): Promise<void> {
    const lines: Record<Table, string[]> = { predictions_input: [], labels: [], access_log: [] };
    const letters: DeadLetter[] = [];
    const seen = new Map<string, { modelId: string; version: string; task: Task; firstSeen: number }>();
    for (const item of items) {
      if (!item.ok) {
        letters.push(item.letter);
        continue;
      }
      lines[item.table].push(item.line);
      const p = item.prediction;
      if (p && !seen.has(`${p.model}\0${p.version}`)) {
        seen.set(`${p.model}\0${p.version}`, { modelId: p.model, version: p.version, task: p.task, firstSeen: p.time });
      }
    }
    for (const table of ['predictions_input', 'labels', 'access_log'] as const) {
      if (lines[table].length === 0) continue;
      const structure = table === 'predictions_input' ? PREDICTION_INPUT_COLUMNS : undefined;
      await deps.db.insertJsonEachRow(table, Buffer.from(lines[table].join('\n'), 'utf8'), { structure });
    }
    await deps.models.registerSeen([...seen.values()]);
    if (letters.length > 0) {
      // acks=-1 and awaited: a dead letter must be durable before its offset is committed.
      await deps.producer.send({ topic: topics.deadLetter, acks: -1, messages: letters.map(deadLetterMessage) });
    }
    countWritten(items, deps.metrics);
  }

  return { decode, write };
}

/** Counted only after the write succeeded, so retried batches are not counted twice. */
function countWritten(items: Decoded[], metrics: IngestMetrics): void {
  for (const item of items) {
    if (!item.ok) {
      metrics.messages.inc({ topic: item.topic, outcome: 'dead_letter' });
      metrics.deadLetters.inc({ topic: item.topic, reason: item.letter.reason });
      continue;
    }
    metrics.messages.inc({ topic: item.topic, outcome: 'stored' });
    const p = item.prediction;
    if (!p) continue;
    const labels = { model: p.model, version: p.version };
    metrics.predictions.inc(labels);
    if (p.isError) metrics.predictionErrors.inc(labels);
    if (p.latencyMs !== null) metrics.predictionLatency.observe(labels, p.latencyMs / 1000);
  }
}
