/**
 * The shadow consumer's reading of a prediction event: only what scoring needs, checked as the
 * collectors check it (SPEC 3.2). An event the collectors would refuse, or of a model without
 * challengers, is skipped (undefined): it is the collectors' job to dead-letter it.
 */
import { normalizeClass } from '../models/index.js';

export interface ShadowInput {
  model: string;
  version: string;
  id: string;
  /** Epoch ms. */
  time: number;
  features: Record<string, unknown>;
  /** Production's prediction as stored (booleans as '1'/'0'). */
  prediction: string;
  /** Production's score, or null. */
  score: number | null;
}

const MIN_TIME = Date.UTC(1900, 0, 1);
const MAX_TIME = Date.UTC(2300, 0, 1) - 1;

function id(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;
}

function time(value: unknown): number | undefined {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  const whole = Math.trunc(ms);
  return Number.isFinite(whole) && whole >= MIN_TIME && whole <= MAX_TIME ? whole : undefined;
}

function predictionText(value: unknown): string | undefined {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return typeof value === 'string' ? normalizeClass(value) : undefined;
}

/** The collectors' input limits (config `ingest`), applied alike so shadow never scores what they refuse. */
export interface ShadowInputLimits {
  /** @default 1 MiB */
  maxMessageBytes: number;
  /** @default 1000 */
  maxFeatures: number;
  /** @default 256 */
  maxFeatureNameLength: number;
  /** @default 86400000 (1 day) */
  maxFutureSkewMs: number;
  /** The ingest time, for the future-timestamp check. @default Date.now */
  now?: () => number;
}

/** True when the features break a limit (the collectors dead-letter such an event). */
function tooMany(features: object, limits: ShadowInputLimits): boolean {
  let count = 0;
  for (const name in features) {
    if (++count > limits.maxFeatures || name.length > limits.maxFeatureNameLength) return true;
  }
  return false;
}

/**
 * Reads one message value; `wanted` says whether a model has challengers. Checked before the
 * parse (a message naming no wanted model is skipped unparsed, the common case) and after it.
 */
export function decodeShadowInput(
  bytes: Buffer | null,
  limits: ShadowInputLimits,
  wanted: (model: string) => boolean,
  anyWanted = true,
): ShadowInput | undefined {
  if (!anyWanted || !bytes || bytes.length === 0 || bytes.length > limits.maxMessageBytes) return undefined;
  let event: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    event = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const model = typeof event['model_id'] === 'string' ? event['model_id'] : undefined;
  if (model === undefined || !wanted(model)) return undefined;
  const version = id(event['model_version']);
  const predictionId = typeof event['prediction_id'] === 'string' ? id(event['prediction_id']) : undefined;
  const at = time(event['timestamp']);
  const features = event['features'];
  const prediction = predictionText(event['prediction']);
  const score = event['score'];
  if (version === undefined || predictionId === undefined || at === undefined || prediction === undefined)
    return undefined;
  if (typeof features !== 'object' || features === null || Array.isArray(features)) return undefined;
  if (at > (limits.now ?? Date.now)() + limits.maxFutureSkewMs || tooMany(features, limits)) return undefined;
  if (score !== undefined && score !== null && !(typeof score === 'number' && Number.isFinite(score)))
    return undefined;
  return {
    model,
    version,
    id: predictionId,
    time: at,
    features: features as Record<string, unknown>,
    prediction,
    score: typeof score === 'number' ? score : null,
  };
}
