import { z } from 'zod';

/**
 * The Kafka event contracts (SPEC 3.2), one schema each for validation and types. Unknown
 * fields are accepted and ignored, so producers can add fields before modelwatch knows them.
 */

const id = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

/** ISO-8601 string or epoch milliseconds, normalized to epoch milliseconds (UTC). */
export const eventTime = z
  .union([z.string(), z.number()], { error: 'expected an ISO-8601 string or epoch milliseconds' })
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : Date.parse(value);
    // DateTime64(3) holds 1900..2299; anything outside is a producer bug, not an event time.
    if (!Number.isFinite(ms) || ms < -2208988800000 || ms > 10413792000000) {
      ctx.addIssue({ code: 'custom', message: `not a valid event time: ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return Math.trunc(ms);
  });

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const featureValue = z.union([finite, z.string(), z.boolean(), z.null()], {
  error: 'feature values must be number, string, boolean or null',
});

export const predictionEvent = z.object({
  prediction_id: id,
  model_id: id,
  model_version: z.union([id, z.number().transform(String)]),
  timestamp: eventTime,
  features: z.record(z.string().min(1).max(256), featureValue),
  prediction: z.union([finite, z.string(), z.boolean()], { error: 'prediction must be number, string or boolean' }),
  score: finite.nullish(),
  probabilities: z.record(z.string(), finite).nullish(),
  latency_ms: finite.min(0, 'must not be negative').nullish(),
  status: z.enum(['ok', 'error']).nullish(),
  entity_id: z.string().max(512).nullish(),
  request_id: z.string().max(512).nullish(),
});
export type PredictionEvent = z.infer<typeof predictionEvent>;

export const labelEvent = z.object({
  prediction_id: id,
  label: z.union([finite, z.string(), z.boolean()], { error: 'label must be number, string or boolean' }),
  timestamp: eventTime,
  model_id: z.string().max(512).nullish(),
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
