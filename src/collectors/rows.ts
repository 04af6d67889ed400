import { isUtf8 } from 'node:buffer';
import type { AccessLogEvent, LabelEvent, PredictionEvent } from './events.js';

/** How a prediction or label value is stored: its text for classes, its number for regression. */
export function valueColumns(value: number | string | boolean): { text: string; num: number | null } {
  if (typeof value === 'number') return { text: String(value), num: value };
  if (typeof value === 'boolean') return { text: String(value), num: value ? 1 : 0 };
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  return { text: value, num: Number.isFinite(parsed) ? parsed : null };
}

/** A `predictions_input` line up to the event's own JSON (`"e":`), which follows it. */
function predictionInputPrefix(event: PredictionEvent): string {
  const prediction = valueColumns(event.prediction);
  const text = JSON.stringify;
  return (
    `{"ts":${event.timestamp},"id":${text(event.prediction_id)},"m":${text(event.model_id)},"mv":${text(event.model_version)},` +
    `"p":${text(prediction.text)},"pn":${prediction.num ?? 'null'},"s":${event.score ?? 'null'},"l":${event.latency_ms ?? 'null'},` +
    `"err":${event.status === 'error'},"ent":${text(event.entity_id ?? '')},"req":${text(event.request_id ?? '')},` +
    `"hp":${event.probabilities != null},"e":`
  );
}

/** JSONEachRow is one row per line; JSON may carry line breaks only as whitespace between tokens. */
const hasBreaks = (raw: string) => raw.includes('\n') || raw.includes('\r');

/**
 * A `predictions_input` line: the normalized time, version and prediction, and the event's own
 * JSON (`raw`, passed through) for ClickHouse to take apart (see the migration).
 */
export function predictionInputLine(event: PredictionEvent, raw: string): string {
  return `${predictionInputPrefix(event)}${hasBreaks(raw) ? JSON.stringify(event) : raw}}`;
}

/**
 * The same line as UTF-8 bytes. When the message (`value`, whose text is `raw`) is valid UTF-8
 * without line breaks, its bytes are copied as they are: the kilobyte of features is neither
 * encoded again nor kept as a string while the batch fills. Invalid UTF-8 is stored as the text
 * decoding made of it (U+FFFD), as the string line does.
 */
export function predictionInputBytes(event: PredictionEvent, raw: string, value: Buffer): Buffer {
  if (hasBreaks(raw) || !isUtf8(value)) return Buffer.from(predictionInputLine(event, raw), 'utf8');
  const prefix = predictionInputPrefix(event);
  const head = Buffer.byteLength(prefix);
  const line = Buffer.allocUnsafe(head + value.length + 1);
  line.write(prefix, 0, 'utf8');
  value.copy(line, head);
  line[line.length - 1] = 0x7d; // the closing brace
  return line;
}

export function labelRow(event: LabelEvent): string {
  const label = valueColumns(event.label);
  return JSON.stringify({
    prediction_id: event.prediction_id,
    model_id: event.model_id ?? '',
    label: label.text,
    label_num: label.num,
    timestamp: event.timestamp,
  });
}

export function accessLogRow(event: AccessLogEvent): string {
  return JSON.stringify({
    event_id: event.event_id,
    timestamp: event.timestamp,
    principal: event.principal,
    action: event.action,
    resource_type: event.resource_type,
    resource_id: event.resource_id,
    model_id: event.model_id ?? '',
    entity_id: event.entity_id ?? '',
    purpose: event.purpose ?? '',
    outcome: event.outcome,
    source_ip: event.source_ip ?? '',
  });
}
