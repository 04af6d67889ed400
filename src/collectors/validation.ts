import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import {
  accessLogEvent,
  eventTimeMs,
  labelEvent,
  predictionEvent,
  type AccessLogEvent,
  type LabelEvent,
  type PredictionEvent,
} from './events.js';

/**
 * The zod schemas in events.ts are the one definition (types, docs, OpenAPI); the hot path checks
 * messages with ajv code compiled from them, measured at ~7x zod's parse speed on 45-feature
 * predictions (130k vs 17.5k events/s, one core). A property test (test/unit/collectors) holds
 * the two to the same verdict on every event. What JSON Schema drops is restored here:
 * - `strictNumbers`: NaN and ±Infinity (`1e999` in JSON) are not numbers, as zod's `finite`;
 * - string lengths: both count code points (an emoji is one character), ajv's default;
 * - the event-time range, the same function zod's transform calls (`eventTimeMs`).
 */
function compile(schema: z.ZodType): ValidateFunction {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-07', unrepresentable: 'any' });
  delete json.$schema;
  return new Ajv({ allErrors: false, strict: false, strictNumbers: true }).compile(json);
}

export type Checked<T> = { ok: true; event: T } | { ok: false; detail: string };

function describe(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'does not match the schema';
  const where = first.instancePath === '' ? '(root)' : first.instancePath.slice(1).replaceAll('/', '.');
  const missing =
    first.keyword === 'required'
      ? `${String((first.params as { missingProperty?: string }).missingProperty)}: `
      : '';
  return `${missing}${first.keyword === 'required' ? 'is required' : `${where}: ${first.message ?? 'is invalid'}`}`;
}

export { eventTimeMs };

function checker<T extends { timestamp: number }>(schema: z.ZodType) {
  const validate = compile(schema);
  return (json: unknown): Checked<T> => {
    if (!validate(json)) return { ok: false, detail: describe(validate.errors) };
    const event = json as T & { timestamp: string | number };
    const timestamp = eventTimeMs(event.timestamp);
    if (timestamp === undefined)
      return { ok: false, detail: `timestamp: not a valid event time: ${JSON.stringify(event.timestamp)}` };
    event.timestamp = timestamp;
    return { ok: true, event };
  };
}

const prediction = checker<PredictionEvent>(predictionEvent);

export function checkPrediction(json: unknown): Checked<PredictionEvent> {
  const checked = prediction(json);
  if (checked.ok) checked.event.model_version = String(checked.event.model_version);
  return checked;
}

export const checkLabel = checker<LabelEvent>(labelEvent);
export const checkAccessEvent = checker<AccessLogEvent>(accessLogEvent);

/** Limits beyond the schema, from config (SPEC is silent on them; see README "Delivery"). */
export interface EventLimits {
  /** @default 1000 */
  maxFeatures: number;
  /** @default 256 */
  maxFeatureNameLength: number;
}

/** Tags one prediction may carry (segments by tag; SPEC is silent). */
export const MAX_TAGS = 64;

/** The first limit a valid prediction breaks, naming the field; undefined when within all. */
export function limitViolation(event: PredictionEvent, limits: EventLimits): string | undefined {
  if (event.tags) {
    let tags = 0;
    for (const _ in event.tags) if ((tags += 1) > MAX_TAGS) return `tags: more than ${MAX_TAGS} tags`;
  }
  let count = 0;
  for (const name in event.features) {
    count += 1;
    if (count > limits.maxFeatures) {
      return `features: more than ${limits.maxFeatures} features (${Object.keys(event.features).length}); the limit is MODELWATCH_MAX_FEATURES`;
    }
    if (name.length > limits.maxFeatureNameLength) {
      return `features.${name.slice(0, 64)}…: the name is ${name.length} characters; the limit is ${limits.maxFeatureNameLength}`;
    }
  }
  return undefined;
}

/** A lone surrogate: with the `u` flag a pair is one code point, so only an unpaired half matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The texts that identify a prediction or its version (and its class label). */
const PREDICTION_TEXTS = [
  'prediction_id',
  'model_id',
  'model_version',
  'entity_id',
  'request_id',
  'prediction',
] as const;

/** Every text of a label's or an access event's row (their JSONEachRow lines). */
const LABEL_TEXTS = ['prediction_id', 'model_id', 'label'] as const;
const ACCESS_EVENT_TEXTS = [
  'event_id',
  'principal',
  'action',
  'resource_type',
  'resource_id',
  'model_id',
  'entity_id',
  'purpose',
  'source_ip',
] as const;

/** The first of `fields` whose text holds a lone surrogate, as a dead letter's detail. */
function firstLoneSurrogate<T extends object>(
  event: T,
  fields: readonly (keyof T & string)[],
): string | undefined {
  for (const field of fields) {
    const value = event[field];
    if (typeof value === 'string' && LONE_SURROGATE.test(value))
      return `${field}: holds a lone UTF-16 surrogate, which has no UTF-8 form`;
  }
  return undefined;
}

/**
 * The first identifying text holding a lone surrogate (`"\ud800"` in the JSON), which has no
 * UTF-8 form: stored as U+FFFD, two different ids would become one. Before issue 17 ClickHouse
 * refused these rows (`rejected`, code 25); the collectors now write RowBinary, so they are
 * refused here. Feature names and values, tags and probabilities keep U+FFFD (a message that is
 * not UTF-8 is refused whole, in decode.ts).
 */
export function loneSurrogate(event: PredictionEvent): string | undefined {
  return firstLoneSurrogate(event, PREDICTION_TEXTS);
}

/**
 * The same for a label or an access event, over every text: their rows are JSON lines, which
 * ClickHouse refuses whole for one lone surrogate (code 25), and the batch was then halved until
 * that row was alone, ~2·log2(n) failed inserts for each (SPEC 3.3: never slows its partition).
 */
export function labelLoneSurrogate(event: LabelEvent): string | undefined {
  return firstLoneSurrogate(event, LABEL_TEXTS);
}

export function accessEventLoneSurrogate(event: AccessLogEvent): string | undefined {
  return firstLoneSurrogate(event, ACCESS_EVENT_TEXTS);
}
