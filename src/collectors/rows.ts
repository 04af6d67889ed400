import type { RowBinaryWriter } from '../platform/clickhouse/index.js';
import type { AccessLogEvent, LabelEvent, PredictionEvent } from './events.js';

/**
 * A decimal number as `Number` reads one (sign, fraction and exponent optional), without its
 * other bases: `Number('0x10')` is 16 and `Number('0b11')` 3, so a class named so was a number.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** How a prediction or label value is stored: its text for classes, its number for regression. */
export function valueColumns(value: number | string | boolean): { text: string; num: number | null } {
  if (typeof value === 'number') return { text: String(value), num: value };
  if (typeof value === 'boolean') return { text: String(value), num: value ? 1 : 0 };
  const trimmed = value.trim();
  const parsed = DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
  return { text: value, num: Number.isFinite(parsed) ? parsed : null };
}

/**
 * The `predictions` columns a collector writes, in RowBinary order; `ingested_at` is the table's
 * default. Text in LowCardinality columns has String's binary layout.
 */
const PREDICTION_COLUMNS = [
  ['model_id', 'String'],
  ['model_version', 'String'],
  ['prediction_id', 'String'],
  ['timestamp', "DateTime64(3, 'UTC')"],
  ['features_num', 'Map(String, Float64)'],
  ['features_str', 'Map(String, String)'],
  ['prediction', 'String'],
  ['prediction_num', 'Nullable(Float64)'],
  ['score', 'Nullable(Float64)'],
  ['probabilities', 'Map(String, Float64)'],
  ['latency_ms', 'Nullable(Float64)'],
  ['is_error', 'Bool'],
  ['entity_id', 'String'],
  ['request_id', 'String'],
  ['tags', 'Map(String, String)'],
] as const;

export const PREDICTION_ROW = {
  columns: PREDICTION_COLUMNS.map(([name]) => name),
  structure: PREDICTION_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', '),
};

type Features = PredictionEvent['features'];

/**
 * The features split by type: numbers into `features_num`; texts, and booleans as
 * `'true'`/`'false'`, into `features_str`; nulls left out (README, "How predictions are stored").
 * Each map's size is filled in after its entries (one pass per map).
 */
function writeFeatures(row: RowBinaryWriter, features: Features): void {
  let kept = row.beginCount();
  let count = 0;
  for (const name in features) {
    const value = features[name];
    if (typeof value !== 'number') continue;
    row.string(name);
    row.float64(value);
    count += 1;
  }
  row.endCount(kept, count);
  kept = row.beginCount();
  count = 0;
  for (const name in features) {
    const value = features[name];
    if (typeof value === 'number' || value === null || value === undefined) continue;
    row.string(name);
    row.string(typeof value === 'string' ? value : String(value));
    count += 1;
  }
  row.endCount(kept, count);
}

/** A map's entries, its size filled in after them; `value` writes one value (no closure per row). */
function writeMap<V>(
  row: RowBinaryWriter,
  map: Record<string, V> | null | undefined,
  value: (row: RowBinaryWriter, v: V) => void,
): void {
  const kept = row.beginCount();
  let count = 0;
  if (map)
    for (const key in map) {
      row.string(key);
      value(row, map[key] as V);
      count += 1;
    }
  row.endCount(kept, count);
}

const float64 = (row: RowBinaryWriter, v: number) => row.float64(v);
const text = (row: RowBinaryWriter, v: string) => row.string(v);

/**
 * A validated prediction as one RowBinary row of `predictions` (PREDICTION_ROW). The features'
 * numbers are written as their 8 bytes: neither formatted as text here nor parsed in the engine.
 */
export function predictionRow(writer: RowBinaryWriter, event: PredictionEvent): Buffer {
  return writer.row((row) => writePrediction(row, event));
}

function writePrediction(row: RowBinaryWriter, event: PredictionEvent): void {
  const prediction = valueColumns(event.prediction);
  row.string(event.model_id);
  row.string(event.model_version);
  row.string(event.prediction_id);
  row.int64(event.timestamp);
  writeFeatures(row, event.features);
  row.string(prediction.text);
  row.nullableFloat64(prediction.num);
  row.nullableFloat64(event.score);
  writeMap(row, event.probabilities, float64);
  row.nullableFloat64(event.latency_ms);
  row.bool(event.status === 'error');
  row.string(event.entity_id ?? '');
  row.string(event.request_id ?? '');
  writeMap(row, event.tags, text);
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
