/**
 * The one place a published retrain trigger is written to the audit trail (SPEC 8), called after
 * the broker acknowledged the message, and again for a trigger whose audit was not recorded
 * (publish/trigger-audits.ts). The record is a function of the stored trigger alone (its `at` is
 * the trigger's `created_at`, not the time of the call), so every attempt sends the same record.
 */
import type { AuditRecorder } from '../audit/index.js';
import type { TriggerPayload } from './engine/trigger.js';

export type AuditWriter = (payload: TriggerPayload) => Promise<void>;

/** A `retrain_trigger.emit` change by the service itself, naming the trigger and what fired it. */
export function auditTriggers(recorder: Pick<AuditRecorder, 'change'>): AuditWriter {
  return (payload) =>
    recorder.change({
      at: payload.created_at,
      principal: 'modelwatch',
      action: 'retrain_trigger.emit',
      resource_type: 'retrain_trigger',
      resource_id: payload.trigger_id,
      model_id: payload.model_id,
      details: { model_version: payload.model_version, reason: payload.reason, window: payload.window },
    });
}
