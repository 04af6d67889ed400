/**
 * The one place a published retrain trigger is written to the audit trail (SPEC 8), called once
 * per message right after the broker acknowledged it.
 */
import type { AuditRecorder } from '../audit/index.js';
import type { TriggerPayload } from './engine/trigger.js';

export type AuditWriter = (payload: TriggerPayload) => Promise<void>;

/** A `retrain_trigger.emit` change by the service itself, naming the trigger and what fired it. */
export function auditTriggers(recorder: AuditRecorder): AuditWriter {
  return (payload) =>
    recorder.change({
      principal: 'modelwatch',
      action: 'retrain_trigger.emit',
      resource_type: 'retrain_trigger',
      resource_id: payload.trigger_id,
      model_id: payload.model_id,
      details: { model_version: payload.model_version, reason: payload.reason, window: payload.window },
    });
}
