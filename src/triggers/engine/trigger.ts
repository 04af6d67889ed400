/** A firing of a retrain policy and the message it becomes (SPEC 6). */
import { createHash } from 'node:crypto';
import type { RetrainPolicy } from './policy.js';

export const REASONS = ['drift', 'performance', 'quality', 'segment', 'loss_change'] as const;
export type Reason = (typeof REASONS)[number];

/** What a rule found: one window of one version that fires. */
export interface Firing {
  modelId: string;
  version: string;
  reason: Reason;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  /** The statistics that fired. */
  evidence: Record<string, unknown>;
  /**
   * What else tells two firings of one reason and window apart (a segment firing's
   * segmentation); part of the trigger id only when set, so other reasons' ids are unchanged.
   */
  key?: string | undefined;
}

/** The message on the retrain topic, exactly as published and stored. */
export interface TriggerPayload {
  trigger_id: string;
  model_id: string;
  model_version: string;
  reason: Reason;
  window: { start: string; end: string };
  evidence: Record<string, unknown>;
  policy: RetrainPolicy;
  created_at: string;
}

/** A fixed namespace for the UUIDv5 trigger ids (RFC 9562 §5.5); never change it. */
const NAMESPACE = Buffer.from('6d0f6a2e8b3c4f51a7d2c1e9b4f83a10', 'hex');

/**
 * UUIDv5 of (model, version, reason, window start, window end): the same firing gets the same id
 * on every instance, after a restart and after a replay. The name is a JSON array, so no value
 * can shift into the next one.
 */
export function triggerId(
  f: Pick<Firing, 'modelId' | 'version' | 'reason' | 'start' | 'end' | 'key'>,
): string {
  const name = JSON.stringify([
    f.modelId,
    f.version,
    f.reason,
    new Date(f.start).toISOString(),
    new Date(f.end).toISOString(),
    ...(f.key === undefined ? [] : [f.key]),
  ]);
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function toPayload(f: Firing, policy: RetrainPolicy, createdAt: number): TriggerPayload {
  return {
    trigger_id: triggerId(f),
    model_id: f.modelId,
    model_version: f.version,
    reason: f.reason,
    window: { start: new Date(f.start).toISOString(), end: new Date(f.end).toISOString() },
    evidence: f.evidence,
    policy,
    created_at: new Date(createdAt).toISOString(),
  };
}
