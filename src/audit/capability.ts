import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { AuditLog, type AuditRecorder } from './audit-log.js';
import { createAuditConsumer, type AuditConsumer } from './consumer.js';
import { DigestPublisher } from './digest-publisher.js';
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
  /** Periodic verification behind the `modelwatch_audit_chains_verified` gauge. */
  verifier: AuditVerifier;
}

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
  create({ config, kafka, db, producer, logger, registry }) {
    const log = new AuditLog({ producer, topic: config.audit.topic, logger });
    const consumer = createAuditConsumer({
      kafka,
      db,
      groupId: config.audit.consumerGroup,
      accessLogTopic: config.topics.accessLog,
      auditTopic: config.audit.topic,
      logger,
      maxMs: config.audit.batchMaxMs,
      sessionTimeoutMs: config.ingest.sessionTimeoutMs,
    });
    const digests = new DigestPublisher({
      db,
      producer,
      topic: config.topics.auditDigests,
      logger,
      intervalMs: config.audit.digestIntervalMs,
    });
    const verifier = createAuditVerifier({
      db,
      registry,
      logger,
      digests: () => digests.published(),
      intervalMs: config.audit.verifyIntervalMs,
    });
    let joined = false;
    return {
      log,
      recorder: log,
      consumer,
      digests,
      verifier,
      routes: auditRoutes({
        db,
        digests: () => digests.published(),
        onVerified: (report) => verifier.record(report),
      }),
      async start() {
        await log.start();
        await consumer.start();
        joined = true;
        digests.start();
        verifier.start();
      },
      async stop() {
        await verifier.stop();
        await log.stop();
        if (!joined) return;
        await consumer.stop();
        // After the writers stopped, so the last heads are what this instance chained.
        await digests.stop();
      },
      ready: () => ({ audit: joined && !consumer.degraded }),
    };
  },
};
