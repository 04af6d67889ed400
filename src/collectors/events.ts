import { z } from 'zod';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';
import { parseIsoTime } from '../platform/time/index.js';

/**
 * The Kafka event contracts (SPEC 3.2), one schema each for validation and types. Unknown
 * fields are accepted and ignored, so producers can add fields before modelwatch knows them.
 */

const id = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_EVENT_ID_LENGTH, `must be at most ${MAX_EVENT_ID_LENGTH} characters`);

/** The range DateTime64(3) holds: 1900-01-01T00:00:00.000Z to 2299-12-31T23:59:59.999Z. */
export const MIN_EVENT_TIME = Date.UTC(1900, 0, 1);
export const MAX_EVENT_TIME = Date.UTC(2300, 0, 1) - 1;

/**
 * ISO-8601 or epoch milliseconds → whole epoch milliseconds, or undefined outside what
 * DateTime64(3) holds. Text is read by the API's strict parser, not `Date.parse`, which reads a
 * time without an offset in the host's zone, accepts `11/12/2026` or `5` (year 2001) and rolls
 * `2026-02-31` over into March: each would land in a wrong bucket instead of the dead letters.
 */
export function eventTimeMs(value: string | number): number | undefined {
  // The millisecond the instant falls in, as the ISO parser reads '1969-12-31T23:59:59.9995Z' (-1):
  // truncated, epoch -0.5 was 0, a bucket (or a day) later than the same instant written as text.
  const ms = Math.floor(typeof value === 'number' ? value : (parseIsoTime(value) ?? NaN));
  return Number.isFinite(ms) && ms >= MIN_EVENT_TIME && ms <= MAX_EVENT_TIME ? ms : undefined;
}

/** ISO-8601 string or epoch milliseconds, normalized to epoch milliseconds (UTC). */
export const eventTime = z
  .union([z.string(), z.number()], { error: 'expected an ISO-8601 string or epoch milliseconds' })
  .transform((value, ctx) => {
    const ms = eventTimeMs(value);
    // Outside 1900..2299 is a producer bug, not an event time.
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a valid event time: ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms;
  });

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const featureValue = z.union([finite, z.string(), z.boolean(), z.null()], {
  error: 'feature values must be number, string, boolean or null',
});

export const predictionEvent = z.object({
  prediction_id: id,
  model_id: id,
  // A number beyond 2^53 is not read exactly (9007199254740993 parses as ...992): two versions
  // would be stored as one under a number neither producer sent. Such a version is sent as text.
  model_version: z.union([
    id,
    z
      .number()
      .min(-Number.MAX_SAFE_INTEGER, 'a number beyond 2^53 is not read exactly: send the version as a string')
      .max(Number.MAX_SAFE_INTEGER, 'a number beyond 2^53 is not read exactly: send the version as a string')
      .transform(String),
  ]),
  timestamp: eventTime,
  // Name length and the number of features are limits (config), checked after the schema.
  features: z.record(z.string().min(1, 'feature names must not be empty'), featureValue),
  prediction: z.union([finite, z.string(), z.boolean()], {
    error: 'prediction must be number, string or boolean',
  }),
  score: finite.nullish(),
  probabilities: z.record(z.string(), finite).nullish(),
  latency_ms: finite.min(0, 'must not be negative').nullish(),
  status: z.enum(['ok', 'error']).nullish(),
  entity_id: z.string().max(512).nullish(),
  request_id: z.string().max(512).nullish(),
  // Segments by tag (src/segments): flat texts, e.g. { "channel": "web" }. How many: a limit, checked after the schema.
  tags: z.record(z.string().min(1, 'tag names must not be empty').max(256), z.string().max(1024)).nullish(),
});
export type PredictionEvent = z.infer<typeof predictionEvent>;

export const labelEvent = z.object({
  prediction_id: id,
  label: z.union([finite, z.string(), z.boolean()], { error: 'label must be number, string or boolean' }),
  timestamp: eventTime,
  model_id: z.string().max(MAX_EVENT_ID_LENGTH).nullish(),
});
export type LabelEvent = z.infer<typeof labelEvent>;

export const accessLogEvent = z.object({
  event_id: id,
  timestamp: eventTime,
  principal: id,
  action: id,
  resource_type: id,
  resource_id: z.string().max(512),
  model_id: z.string().max(512).nullish(),
  entity_id: z.string().max(512).nullish(),
  purpose: z.string().max(1024).nullish(),
  outcome: z.enum(['allowed', 'denied']),
  source_ip: z.string().max(64).nullish(),
});
export type AccessLogEvent = z.infer<typeof accessLogEvent>;
