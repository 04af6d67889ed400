/**
 * Auditing of published triggers, at least once (SPEC 8: every trigger emitted is an audit
 * record). A trigger is recorded as audited only once its audit record was acknowledged, and each
 * pass audits the delivered triggers never recorded so: the audit send failed, or the process
 * stopped between the send and the record and the next owner found the trigger on the topic.
 */
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/observability/index.js';
import type { TriggerPayload } from '../engine/trigger.js';
import type { TriggerStore } from '../store/triggers.js';
import type { PublisherTrail } from './trail.js';

export interface TriggerAuditsOptions {
  store: Pick<TriggerStore, 'unaudited' | 'recordAudits'>;
  /** Audits one trigger; may run again for the same trigger. */
  audit: (payload: TriggerPayload) => Promise<void> | void;
  /** Once its audit is recorded: a trigger audited again after a failed record is not seen twice. */
  onAudited?: ((payload: TriggerPayload) => void) | undefined;
  logger: Logger;
  trail: PublisherTrail;
}

export class TriggerAudits {
  constructor(private readonly options: TriggerAuditsOptions) {}

  /** Audits one delivered trigger and records that it was; false (logged) when it could not. */
  async audit(payload: TriggerPayload): Promise<boolean> {
    try {
      await this.options.audit(payload);
      await this.options.store.recordAudits([payload]);
      this.options.onAudited?.(payload);
      return true;
    } catch (err) {
      this.options.trail.add('audit failed', { trigger: payload.trigger_id, err: errorMessage(err) });
      this.options.logger.warn(
        { err: errorMessage(err), trigger: payload.trigger_id },
        'a published retrain trigger could not be audited yet; retrying next pass',
      );
      return false;
    }
  }

  /**
   * Audits the delivered, never audited triggers this instance publishes (`owns`: its partitions,
   * so two instances do not both audit one). Stops at the first failure: the audit topic is
   * likely unreachable, and the next pass goes on.
   */
  async auditMissed(owns: (payload: TriggerPayload) => boolean): Promise<void> {
    for (const payload of await this.options.store.unaudited()) {
      if (owns(payload) && !(await this.audit(payload))) return;
    }
  }
}
