/**
 * A model's drift settings without the policy's zod schema (settings.ts): what evaluation needs.
 * `modelwatch drift` loads this alone; zod is ~100 modules and ~0.1 CPU s of a short run's start.
 */
import {
  DEFAULT_DATASET_DRIFT_SHARE,
  DEFAULT_THRESHOLDS,
  DRIFT_METHODS,
  type ColumnKind,
  type DriftMethod,
  type MethodOption,
} from '../statistics/index.js';
import { parseDuration, parseBucket, type Bucket } from '../../platform/time/index.js';

/** @default '1h' */
export const DEFAULT_EVALUATION_WINDOW = '1h';
/** How long after a window's end late events are still waited for. @default '5m' */
export const DEFAULT_ALLOWED_LATENESS = '5m';

export const METHOD_OPTIONS = ['auto', ...DRIFT_METHODS] as const;

export interface ColumnSettings {
  kind?: ColumnKind | undefined;
  method?: MethodOption | undefined;
  threshold?: number | undefined;
}

/** The `drift` section of a policy, snake_case like the rest of the API; validated by `driftPolicySchema`. */
export interface DriftPolicy {
  method?: MethodOption | undefined;
  columns?: Record<string, ColumnSettings> | undefined;
  thresholds?: { [M in DriftMethod]?: number | undefined } | undefined;
  dataset_drift_share?: number | undefined;
  evaluation_window?: string | undefined;
  allowed_lateness?: string | undefined;
}

export interface DriftSettings {
  method: MethodOption;
  columns: Readonly<Record<string, ColumnSettings>>;
  thresholds: Readonly<Record<DriftMethod, number>>;
  datasetDriftShare: number;
  evaluationWindow: Bucket;
  allowedLatenessMs: number;
}

/** The policy with every default filled in: what GET returns and what evaluation uses. */
export function effectiveDriftPolicy(policy: DriftPolicy = {}): Required<DriftPolicy> {
  return {
    method: policy.method ?? 'auto',
    columns: policy.columns ?? {},
    thresholds: { ...DEFAULT_THRESHOLDS, ...policy.thresholds },
    dataset_drift_share: policy.dataset_drift_share ?? DEFAULT_DATASET_DRIFT_SHARE,
    evaluation_window: policy.evaluation_window ?? DEFAULT_EVALUATION_WINDOW,
    allowed_lateness: policy.allowed_lateness ?? DEFAULT_ALLOWED_LATENESS,
  };
}

export function driftSettings(policy: DriftPolicy = {}): DriftSettings {
  const p = effectiveDriftPolicy(policy);
  return {
    method: p.method,
    columns: p.columns,
    thresholds: { ...DEFAULT_THRESHOLDS, ...p.thresholds },
    datasetDriftShare: p.dataset_drift_share,
    // Both were validated by the schema; the fallbacks only keep the types honest.
    evaluationWindow: parseBucket(p.evaluation_window) ?? parseBucket(DEFAULT_EVALUATION_WINDOW)!,
    allowedLatenessMs: parseDuration(p.allowed_lateness) ?? 0,
  };
}
