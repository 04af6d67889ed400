/**
 * THE place where a published retrain trigger is to be written to the audit trail (SPEC 8).
 * The audit capability is not on main yet, so nothing is written: when it lands, this function
 * calls it (e.g. `audit.record({ action: 'retrain_trigger', … })`) and the capability passes it in.
 * It is called once per message, right after the broker acknowledged it.
 */
import type { TriggerPayload } from './engine/trigger.js';

export type AuditWriter = (payload: TriggerPayload) => Promise<void>;

/** No audit trail exists yet: resolves without writing anything (see above). */
export const auditTrailNotYetAvailable: AuditWriter = () => Promise.resolve();
