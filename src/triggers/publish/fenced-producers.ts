/**
 * One transactional producer per owned partition of the retrain topic, with the transactional id
 * `<group>-p<partition>`. Claiming a partition begins (and ends) an empty transaction: Kafka then
 * bumps the id's epoch, so an earlier holder of the partition (a zombie instance that lost its
 * assignment but still runs) can no longer commit, and its open transaction is aborted. Measured
 * with kafkajs 2.2.4 against Kafka 4.1.1: see README.md.
 */
import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import { errorMessage } from '../../platform/errors.js';
import { isMessageTooLarge } from '../../platform/kafka/index.js';
import type { Logger } from '../../platform/observability/index.js';
import { TriggerError } from '../errors.js';

/**
 * kafkajs error types that mean the partition's transactional id has a newer epoch: another
 * producer claimed it, or the coordinator bumped it itself after aborting a transaction that
 * outlived its timeout (KIP-360); the publisher tells the two apart. Not INVALID_TXN_STATE: that
 * is this producer's transaction out of step with the coordinator, and a replacement fixes it.
 */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

export function isFenced(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return (
    (err instanceof TriggerError && err.code === 'NOT_OWNER') ||
    (typeof type === 'string' && FENCED.has(type))
  );
}

export class FencedProducers {
  private readonly producers = new Map<number, Producer>();
  /** The last send queued per partition: a producer runs one transaction at a time. */
  private readonly sending = new Map<number, Promise<unknown>>();
  /** Partitions whose producer failed a send and could not be replaced yet: replaced before the next. */
  private readonly broken = new Set<number>();
  /** Producers replaced after a failed send (for tests and logs). */
  renewed = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly transactionalIdPrefix: string,
    private readonly logger: Logger,
  ) {}

  /** Takes partition `p` over, fencing any earlier producer of it. */
  async claim(p: number): Promise<void> {
    await this.release(p);
    const producer = this.kafka.producer({
      transactionalId: `${this.transactionalIdPrefix}-p${p}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      const fence = await producer.transaction();
      await fence.abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    this.producers.set(p, producer);
  }

  async release(p: number): Promise<void> {
    const producer = this.producers.get(p);
    this.producers.delete(p);
    this.broken.delete(p);
    await producer
      ?.disconnect()
      .catch((err: unknown) =>
        this.logger.debug({ err: errorMessage(err), partition: p }, 'retrain producer disconnect failed'),
      );
  }

  async releaseAll(except: ReadonlySet<number> = new Set()): Promise<void> {
    for (const p of new Set([...this.producers.keys(), ...this.broken]))
      if (!except.has(p)) await this.release(p);
  }

  /**
   * Sends one message to partition `p` in its own transaction; resolves with its offset once
   * committed. Sends to one partition wait for each other: kafkajs refuses a second transaction
   * on a producer while one is open ("another concurrent operation on the same transaction").
   * After a retryable rejection p may have been claimed again, which finishes or aborts a
   * transaction left in doubt: the caller reads p to its end again before sending to it. A message
   * the broker refuses as too large rejects with `TOO_LARGE`, not retryable.
   */
  send(topic: string, p: number, message: Message): Promise<string> {
    const previous = this.sending.get(p) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.sendNow(topic, p, message));
    this.sending.set(p, next);
    const forget = () => {
      if (this.sending.get(p) === next) this.sending.delete(p);
    };
    next.then(forget, forget);
    return next;
  }

  private async sendNow(topic: string, p: number, message: Message): Promise<string> {
    let tx: Transaction | undefined;
    try {
      if (this.broken.has(p)) {
        await this.renew(p, true);
        // The claim made the coordinator finish the transaction the failed send left in doubt; an
        // end read before it (read_committed: the last stable offset) stopped before that message.
        throw new TriggerError(
          'RECLAIMED',
          `partition ${p} of ${topic} was claimed again; read it to its end first`,
          true,
        );
      }
      const producer = this.producers.get(p);
      if (!producer)
        throw new TriggerError('NOT_OWNER', `partition ${p} of ${topic} is not claimed by this instance`);
      tx = await producer.transaction();
      const [result] = await tx.send({ topic, acks: -1, messages: [{ ...message, partition: p }] });
      await tx.commit();
      return result?.baseOffset ?? '-1';
    } catch (err) {
      if (err instanceof TriggerError) throw err;
      // Aborted, the message is invisible to read_committed readers; if the commit did land, the
      // abort fails and the re-read finds the message.
      await tx?.abort().catch(() => undefined);
      // Only while p is still ours: claiming a partition released meanwhile would fence its new owner.
      // After a refusal for size too: the producer's sequence numbers may be out of step with the broker's.
      if (!isFenced(err) && this.producers.has(p)) await this.renew(p, false);
      const tooLarge = isMessageTooLarge(err);
      throw new TriggerError(
        tooLarge ? 'TOO_LARGE' : 'PUBLISH_FAILED',
        `publishing to ${topic}[${p}] failed: ${errorMessage(err)}`,
        !isFenced(err) && !tooLarge,
        { cause: err },
      );
    }
  }

  /**
   * Replaces p's producer after a failed send. kafkajs 2.2.4 leaves a transactional producer
   * whose EndTxn failed (the coordinator restarting) in COMMITTING or ABORTING for good: every
   * later transaction() throws "Cannot call beginTransaction in state …" (its
   * eosManager/transactionStateMachine.js), so the partition would never be published to again
   * (issue 13: a pending trigger not published in 240 s after every broker was killed, under
   * load). Claiming p again (a new producer, same transactional id) also makes the coordinator
   * finish or abort the old transaction. Not after a fence: that would take the partition back
   * from its new owner (the publisher claims it back only while its group still assigns it).
   * `mustSucceed` rethrows a failed claim (the send then fails, retryable).
   */
  private async renew(p: number, mustSucceed: boolean): Promise<void> {
    try {
      await this.claim(p);
      this.renewed += 1;
    } catch (err) {
      this.broken.add(p);
      this.logger.warn(
        { err: errorMessage(err), partition: p },
        'retrain producer not replaced yet; retrying before the next send',
      );
      if (mustSucceed)
        throw new TriggerError(
          'PUBLISH_FAILED',
          `the producer of partition ${p} could not be replaced: ${errorMessage(err)}`,
          true,
          { cause: err },
        );
    }
  }
}
