import { metricsRowCopies } from '../metrics/index.js';
import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { errorMessage } from '../platform/errors.js';
import { createPartitionedSender } from '../platform/kafka/index.js';
import { SerialLoop } from '../platform/loop/index.js';
import { AbortableLoop } from './abortable-loop.js';
import { AuditLog, type AuditRecorder } from './audit-log.js';
import { createAuditConsumer, type AuditConsumer } from './consumer.js';
import { DigestPublisher } from './digest-publisher.js';
import { legalHoldRoutes } from './legal-hold-routes.js';
import { partitionEnds } from './partition-ends.js';
import { LegalHolds } from './legal-holds.js';
import { sendQueued } from './outbox.js';
import { provenanceRoute } from './provenance-route.js';
import { RetentionJob, type RetentionReport } from './retention.js';
import { auditRoutes } from './routes.js';
import { auditMigrations } from './schema.js';
import { createAuditVerifier, type AuditVerifier } from './verify-metrics.js';

export interface AuditCapability extends Capability {
  /** Records API calls and state changes (through the audit topic). */
  log: AuditLog;
  /** What another capability needs to audit a state change. */
  recorder: AuditRecorder;
  consumer: AuditConsumer;
  digests: DigestPublisher;
  holds: LegalHolds;
  /** Retention; runs every MODELWATCH_RETENTION_INTERVAL once started (`runOnce` for tests and tools). */
  retention: SerialLoop<RetentionReport> & { job: RetentionJob };
  /** Periodic verification behind the `modelwatch_audit_chains_verified` gauge. */
  verifier: AuditVerifier;
  /** Sends the records of changes the CLI made on the database (outbox.ts), at start and every minute. */
  outbox: SerialLoop<number>;
}

/** How often records the CLI queued are looked for after start (one small read). */
const OUTBOX_INTERVAL_MS = 60_000;
/** The first look comes at a random point within this many ms of start. */
const OUTBOX_JITTER_MS = 5_000;

/**
 * The audit trail (SPEC 8): the `audit_events` table, the chain writers (a consumer of the
 * access-log and audit topics, one chain per partition), and `modelwatch audit verify`.
 */
export const audit: CapabilityDefinition<AuditCapability> = {
  name: 'audit',
  migrations: auditMigrations,
  commands: {
    audit: {
      summary: 'verify the audit hash chains: audit verify [--digest FILE | --from-topic]',
      load: async () => (await import('./verify-command.js')).auditCommand,
    },
  },
  create({ config, kafka, db, producer, logger, registry }, use) {
    const versions = use(models).registry;
    const log = new AuditLog({ producer, topic: config.audit.topic, logger, registry });
    const consumer = createAuditConsumer({
      kafka,
      db,
      groupId: config.audit.consumerGroup,
      accessLogTopic: config.topics.accessLog,
      auditTopic: config.audit.topic,
      logger,
      maxMs: config.audit.batchMaxMs,
      sessionTimeoutMs: config.ingest.sessionTimeoutMs,
      registry,
      maxFutureMs: config.ingest.maxFutureSkewMs,
    });
    const digests = new DigestPublisher({
      db,
      sender: createPartitionedSender(kafka, producer),
      topic: config.topics.auditDigests,
      logger,
      intervalMs: config.audit.digestIntervalMs,
    });
    const holds = new LegalHolds(db);
    const job = new RetentionJob({
      db,
      recorder: log,
      holds,
      logger: logger.child({ component: 'retention' }),
      policy: config.audit.retention,
      copies: metricsRowCopies,
    });
    const retention = Object.assign(
      new AbortableLoop((signal) => job.run(Date.now(), signal), {
        intervalMs: config.audit.retention.intervalMs,
        onError: (err) =>
          logger.error({ err: errorMessage(err) }, 'retention run failed; retrying next interval'),
      }),
      { job },
    );
    const sourceEnds = () => partitionEnds(kafka, [config.topics.accessLog, config.audit.topic], logger);
    const verifier = createAuditVerifier({
      db,
      registry,
      logger,
      digests: () => digests.published(),
      intervalMs: config.audit.verifyIntervalMs,
      sourceEnds,
    });
    const outbox = new SerialLoop(() => sendQueued(db, log, logger.child({ component: 'audit' })), {
      intervalMs: OUTBOX_INTERVAL_MS,
      onError: (err) =>
        logger.error({ err: errorMessage(err) }, 'queued audit records not sent; retrying next interval'),
    });
    let joined = false;
    return {
      log,
      recorder: log,
      consumer,
      digests,
      holds,
      retention,
      verifier,
      outbox,
      routes: async (app) => {
        const isKnown = async (model: string) =>
          (await versions.list(model)).length > 0 || (await holds.hasRecords(model));
        await app.register(legalHoldRoutes(holds, isKnown));
        await app.register(
          auditRoutes({
            db,
            digests: () => digests.published(),
            onVerified: (report) => verifier.record(report),
            sourceEnds,
          }),
        );
        await app.register(provenanceRoute({ db, versions: (model) => versions.list(model) }));
      },
      async start() {
        await log.start();
        // Instances started together (a rolling deploy) would read the same rows in the same instant.
        setTimeout(() => outbox.start(), Math.random() * OUTBOX_JITTER_MS).unref();
        await consumer.start();
        joined = true;
        digests.start();
        retention.start();
        verifier.start();
      },
      async stop() {
        // A verification or retention run in progress (a verification of 1M records takes ~25 s)
        // is aborted first and awaited last: the consumer leaves its group and the heads are
        // published at shutdown (SPEC 8) within the shutdown deadline, whatever the run takes.
        const runs = Promise.all([verifier.stop(), retention.stop(), outbox.stop()]);
        await log.stop();
        if (joined) {
          await consumer.stop();
          // After the writers stopped, so the last heads are what this instance chained.
          await digests.stop();
        }
        await runs;
      },
      ready: () => ({ audit: joined && !consumer.degraded }),
    };
  },
};
