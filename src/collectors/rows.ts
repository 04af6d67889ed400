import type { AccessLogEvent, LabelEvent, PredictionEvent } from './events.js';

/** How a prediction or label value is stored: its text for classes, its number for regression. */
export function valueColumns(value: number | string | boolean): { text: string; num: number | null } {
  if (typeof value === 'number') return { text: String(value), num: value };
  if (typeof value === 'boolean') return { text: String(value), num: value ? 1 : 0 };
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  return { text: value, num: Number.isFinite(parsed) ? parsed : null };
}

/** Numbers go to `features_num`, strings and booleans to `features_str`; nulls are left out (SPEC 5 drops them). */
function splitFeatures(features: PredictionEvent['features']) {
  const num: Record<string, number> = {};
  const str: Record<string, string> = {};
  for (const [name, value] of Object.entries(features)) {
    if (typeof value === 'number') num[name] = value;
    else if (value !== null) str[name] = String(value);
  }
  return { num, str };
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

/** The whole row as JavaScript would write it: the reference the input view is tested against. */
export function predictionRow(event: PredictionEvent): string {
  const { num, str } = splitFeatures(event.features);
  const prediction = valueColumns(event.prediction);
  return JSON.stringify({
    model_id: event.model_id,
    model_version: event.model_version,
    prediction_id: event.prediction_id,
    timestamp: event.timestamp,
    features_num: num,
    features_str: str,
    prediction: prediction.text,
    prediction_num: prediction.num,
    score: event.score ?? null,
    probabilities: event.probabilities ?? {},
    latency_ms: event.latency_ms ?? null,
    is_error: event.status === 'error',
    entity_id: event.entity_id ?? '',
    request_id: event.request_id ?? '',
  });
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
