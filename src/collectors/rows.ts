import type { AccessLogEvent, LabelEvent, PredictionEvent } from './events.js';

/** How a prediction or label value is stored: its text for classes, its number for regression. */
export function valueColumns(value: number | string | boolean): { text: string; num: number | null } {
  if (typeof value === 'number') return { text: String(value), num: value };
  if (typeof value === 'boolean') return { text: String(value), num: value ? 1 : 0 };
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  return { text: value, num: Number.isFinite(parsed) ? parsed : null };
}

/**
 * A `predictions_input` line: the normalized time, version and prediction, and the event's own
 * JSON (`raw`, passed through) for ClickHouse to take apart (see the migration).
 */
export function predictionInputLine(event: PredictionEvent, raw: string): string {
  const prediction = valueColumns(event.prediction);
  // JSONEachRow is one row per line; JSON may carry line breaks only as whitespace between tokens.
  const original = raw.includes('\n') || raw.includes('\r') ? JSON.stringify(event) : raw;
  const text = JSON.stringify;
  return (
    `{"ts":${event.timestamp},"id":${text(event.prediction_id)},"m":${text(event.model_id)},"mv":${text(event.model_version)},` +
    `"p":${text(prediction.text)},"pn":${prediction.num ?? 'null'},"s":${event.score ?? 'null'},"l":${event.latency_ms ?? 'null'},` +
    `"err":${event.status === 'error'},"ent":${text(event.entity_id ?? '')},"req":${text(event.request_id ?? '')},` +
    `"hp":${event.probabilities != null},"e":${original}}`
  );
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
