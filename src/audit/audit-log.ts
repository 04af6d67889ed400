/**
 * The producing side of the audit trail: API calls and state changes are validated here and
 * sent to the audit topic, where the partition's owner chains them (consumer.ts). Nothing is
 * chained in the instance that produced it, so several instances never write one chain.
 */
import type { Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../platform/observability/index.js';
import { errorMessage } from '../platform/errors.js';
import { wellFormed } from './bounded-json.js';
import { AuditError, isAuditError } from './errors.js';
import { MAX_ID_LENGTH, parseAuditRecord, type AuditRecord, type AuditRecordInput } from './record.js';
import { apiCallRecord, changeRecord, type ApiCall, type StateChange } from './record-builders.js';

export interface AuditLogOptions {
  producer: Producer;
  topic: string;
  logger: Logger;
  /** Records held while the producer is not connected yet; more are refused. @default 10000 */
  maxPending?: number;
  /** Where `modelwatch_audit_records_lost_total` is registered (the service's /metrics). */
  registry?: Registry;
}

/** What other capabilities use to audit a state change: `use(audit).log.change({...})`. */
export interface AuditRecorder {
  /** Sends a state-change record; resolves once Kafka acknowledged it (before the change is acknowledged). */
  change(change: Omit<StateChange, 'at'> & { at?: string | number }): Promise<void>;
}

export class AuditLog implements AuditRecorder {
  private connected = false;
  private pending: { record: AuditRecord; done: (err?: unknown) => void }[] = [];
  private inFlight = new Set<Promise<void>>();
  /** API calls whose record could not be sent (logged, and exported when a registry is given). */
  lost = 0;
  private readonly lostTotal: Counter | undefined;

  constructor(private readonly options: AuditLogOptions) {
    this.lostTotal =
      options.registry &&
      new Counter({
        name: 'modelwatch_audit_records_lost_total',
        help: 'API calls whose audit record could not be sent to the audit topic (Kafka unreachable, the hold full, the service stopping); each is also logged at error level',
        registers: [options.registry],
      });
  }

  /**
   * Whether a state change's record can be sent now. Until the producer connected, a record is held
   * in memory and lost if the service stops first, while the change itself is already stored.
   */
  acceptsChanges(): boolean {
    return this.connected;
  }

  /** Called once the shared producer is connected: sends what was held. */
  async start(): Promise<void> {
    this.connected = true;
    const held = this.pending;
    this.pending = [];
    await Promise.all(held.map(({ record, done }) => this.send(record).then(() => done(), done)));
  }

  /** Waits for records being sent (called before the producer disconnects); held ones are refused. */
  async stop(): Promise<void> {
    const held = this.pending;
    this.pending = [];
    if (held.length > 0)
      this.options.logger.error(
        { records: held.length },
        'audit records held while Kafka was unreachable are lost at shutdown',
      );
    for (const { done } of held) done(new Error('the service stopped before Kafka was reachable'));
    await Promise.allSettled([...this.inFlight]);
  }

  change(change: Omit<StateChange, 'at'> & { at?: string | number }): Promise<void> {
    return this.record(changeRecord({ ...change, at: change.at ?? Date.now() }));
  }

  /**
   * An API call; never throws, not even synchronously (a failure is logged and counted): the
   * answer was already sent.
   */
  call(call: ApiCall): Promise<void> {
    return this.recordCall(call).catch((err: unknown) => {
      this.lost += 1;
      this.lostTotal?.inc();
      this.options.logger.error(
        { err: errorMessage(err), route: call.route },
        'an API call could not be audited',
      );
    });
  }

  /** Validates (INVALID_RECORD naming the field) and sends one record; rejects, never throws. */
  record(input: AuditRecordInput): Promise<void> {
    return settle(() => this.enqueue(input));
  }

  // A parameter the record refuses must not take the call out of the trail: the call is then
  // recorded without its parameters, flagged, keeping the model and entity unless they were refused.
  private recordCall(call: ApiCall): Promise<void> {
    return settle(() => this.enqueue(apiCallRecord(call))).catch((err: unknown) => {
      if (!isAuditError(err, 'INVALID_RECORD')) throw err;
      this.options.logger.warn(
        { err: errorMessage(err), route: call.route },
        'an API call is audited without its parameters',
      );
      return this.record(apiCallRecord(withoutParams(call)));
    });
  }

  private enqueue(input: AuditRecordInput): Promise<void> {
    const record = parseAuditRecord(input);
    if (this.connected) return this.send(record);
    if (this.pending.length >= (this.options.maxPending ?? 10_000)) {
      return Promise.reject(
        new AuditError('STORE_FAILED', 'the audit topic is not reachable yet and the hold is full', true),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.push({
        record,
        done: (err) =>
          err === undefined
            ? resolve()
            : reject(err instanceof Error ? err : new Error('the audit record could not be sent')),
      });
    });
  }

  private send(record: AuditRecord): Promise<void> {
    const sending = this.options.producer
      .send({
        topic: this.options.topic,
        // One resource's records stay in one chain, in order.
        messages: [{ key: `${record.resource_type}/${record.resource_id}`, value: JSON.stringify(record) }],
      })
      .then(() => undefined);
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending)).catch(() => undefined);
    return sending;
  }
}

/** `step()` as a promise: a synchronous throw becomes a rejection. */
function settle(step: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => resolve(step()));
}

function withoutParams(call: ApiCall): ApiCall {
  return {
    ...call,
    params: undefined,
    model_id: validId(call.model_id),
    entity_id: validId(call.entity_id),
    params_dropped: true,
  };
}

/** The id when the record accepts it (at most MAX_ID_LENGTH characters, no lone surrogate), else undefined. */
function validId(id: string | undefined): string | undefined {
  return id !== undefined && id.length <= MAX_ID_LENGTH && wellFormed(id) ? id : undefined;
}
