import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Partitioners, type Producer } from 'kafkajs';
import pRetry from 'p-retry';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buildApp } from '../api/index.js';
import { KeyStore } from '../auth/index.js';
import { createCollectors, createIngestMetrics } from '../collectors/index.js';
import { createDriftCapability, type DriftCapability } from '../drift/index.js';
import { createQualityGauges } from '../metrics/index.js';
import { allMigrations } from '../migrations.js';
import { ModelRegistry } from '../models/index.js';
import { migrate, openDatabase, waitForDatabase, type Database } from '../platform/clickhouse/index.js';
import type { Config } from '../platform/config/index.js';
import { errorMessage } from '../platform/errors.js';
import { createKafka, ensureTopics, type BatchConsumer, type Kafka } from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** Bootstrap servers (from the environment, or a local broker `up` started). */
  brokers: string[];
  /** Extra capability routes under /api/v1. */
  routes?: (deps: ServiceDeps) => FastifyPluginAsync[];
  /** Listen on this port instead of the configured one (0 = any free port). */
  port?: number;
}

/** What capabilities get from the composition root. */
export interface ServiceDeps {
  config: Config;
  logger: Logger;
  db: Database;
  kafka: Kafka;
  producer: Producer;
  models: ModelRegistry;
  registry: Registry;
  /** Shared by the drift routes and the evaluation-window loop. */
  drift: DriftCapability;
}

export interface RunningService {
  app: FastifyInstance;
  deps: ServiceDeps;
  /** The address the API listens on. */
  url: string;
  /** Resolves once ClickHouse is migrated and the collectors joined their group. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The composition root. The API listens at once and reports not-ready while ClickHouse and
 * Kafka come up; those are retried with backoff, each failure logged as one line naming what
 * is unreachable.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, logger } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'modelwatch_' });
  const db = await openDatabase(config.clickhouse);
  const kafka = createKafka(config.kafka, options.brokers, logger);
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const models = new ModelRegistry(db);
  const drift = createDriftCapability({ db, models, logger, registry });
  const deps: ServiceDeps = { config, logger, db, kafka, producer, models, registry, drift };
  const collectors = createCollectors({
    kafka,
    producer,
    db,
    models,
    metrics: createIngestMetrics(registry),
    topics: config.topics,
    ingest: config.ingest,
    logger,
  });
  const quality = createQualityGauges({ db, models, registry, logger });
  const state = { clickhouse: false, kafka: false, closing: false };
  const app = await buildApp({
    logger,
    keys: new KeyStore(db, config.api.adminKey),
    registry,
    metricsPublic: config.api.metricsPublic,
    readiness: {
      checks: () => Promise.resolve({ clickhouse: state.clickhouse, kafka: state.kafka, ingest: !collectors.degraded && !state.closing }),
    },
    routes: options.routes?.(deps) ?? [],
  });
  const url = await app.listen({ host: config.api.host, port: options.port ?? config.api.port });
  const abort = new AbortController();
  const ready = bringUp({ deps, collectors, state, signal: abort.signal, kafkaBrokers: options.brokers.join(',') });
  ready.catch((err: unknown) => {
    if (!abort.signal.aborted) logger.error({ err: errorMessage(err) }, 'service could not start');
  });
  ready.then(
    () => {
      if (!state.closing) quality.start();
      if (!state.closing) drift.evaluator.start();
    },
    () => undefined,
  );

  return {
    app,
    deps,
    url,
    ready,
    async close() {
      // Ordered: not ready → HTTP closed → consumers drained and committed → producer → ClickHouse.
      state.closing = true;
      abort.abort();
      await app.close();
      await quality.stop();
      await drift.evaluator.stop();
      if (state.kafka) await collectors.stop();
      await producer.disconnect();
      await db.close();
    },
  };
}

interface BringUp {
  deps: ServiceDeps;
  collectors: BatchConsumer;
  state: { clickhouse: boolean; kafka: boolean };
  signal: AbortSignal;
  kafkaBrokers: string;
}

async function bringUp({ deps, collectors, state, signal, kafkaBrokers }: BringUp): Promise<void> {
  const { config, logger, db, kafka, producer } = deps;
  const retry = <T>(what: string, step: () => Promise<T>) =>
    pRetry(step, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 500,
      maxTimeout: 15_000,
      signal,
      onFailedAttempt: ({ error, retryDelay }) =>
        logger.warn(`${what}: ${errorMessage(error)}; retrying in ${Math.round(retryDelay / 100) / 10}s`),
    });

  await retry(`${db.location} is unreachable`, () => waitForDatabase(db));
  const report = await retry('migrations failed', () => migrate(db, allMigrations));
  if (report.applied.length > 0) logger.info({ applied: report.applied.map((m) => m.version) }, 'migrations applied');
  state.clickhouse = true;

  const brokers = kafkaBrokers;
  await retry(`Kafka at ${brokers} is unreachable`, () => producer.connect());
  const t = config.topics;
  await retry(`Kafka topics could not be created at ${brokers}`, () =>
    ensureTopics(
      kafka,
      [t.predictions, t.labels, t.accessLog, t.retrain, t.auditDigests, t.deadLetter].map((topic) => ({ topic, numPartitions: t.partitions })),
    ),
  );
  await retry(`Kafka consumer group ${config.ingest.consumerGroup} could not join`, () => collectors.start());
  state.kafka = true;
  logger.info('modelwatch is ready');
}
