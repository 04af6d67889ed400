import type { FastifyInstance } from 'fastify';
import { Partitioners } from 'kafkajs';
import pRetry from 'p-retry';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buildApp } from '../api/index.js';
import { audit } from '../audit/index.js';
import { auth } from '../auth/index.js';
import {
  allMigrations,
  buildCapabilities,
  type Capability,
  type CapabilityDefinition,
  type Platform,
} from '../platform/capability/index.js';
import {
  migrate,
  openDatabase,
  releaseEnginePagesEvery,
  releaseEngineStartupPages,
  type PageReleaser,
  waitForDatabase,
} from '../platform/clickhouse/index.js';
import type { Config } from '../platform/config/index.js';
import { errorMessage } from '../platform/errors.js';
import { createKafka, ensureTopics } from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';
import { capabilities as defaultCapabilities } from './capabilities.js';

/**
 * How long API requests in progress (an audit export can take over a minute) may go on once
 * shutdown began; then their connections are closed. It leaves most of serve's 8 s deadline
 * (src/cli/commands/serve.ts) to the consumers, which leave their groups, and to the audit heads
 * published at shutdown.
 */
export const API_CLOSE_GRACE_MS = 3_000;

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /** Bootstrap servers (from the environment, or a local broker `up` started). */
  brokers: string[];
  /** Listen on this port instead of the configured one (0 = any free port). */
  port?: number;
  /** @default the service's list (./capabilities.ts) */
  capabilities?: readonly CapabilityDefinition[];
}

export interface RunningService {
  app: FastifyInstance;
  /** What every capability was built from. */
  platform: Platform;
  /** A capability as this service built it (for tests and tools). */
  use<T extends Capability>(definition: CapabilityDefinition<T>): T;
  /** The address the API listens on. */
  url: string;
  /** Resolves once ClickHouse is migrated, Kafka reachable and every capability started. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The composition root. The API listens at once and reports not-ready while ClickHouse and
 * Kafka come up; those are retried with backoff, each failure logged as one line naming what
 * is unreachable. Capabilities are looped over for migrations, routes, start, readiness and stop.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, logger } = options;
  const definitions = options.capabilities ?? defaultCapabilities;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'modelwatch_' });
  const db = await openDatabase(config.clickhouse, { logger: logger.child({ component: 'clickhouse' }) });
  const kafka = createKafka(config.kafka, options.brokers, logger);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const platform: Platform = { config, logger, db, kafka, producer, registry };
  try {
    return await listenAndBringUp(options, definitions, platform);
  } catch (err) {
    // Nothing is started before the API listens: a port in use leaves only the database to close,
    // and its error is the one to report.
    await db.close().catch(() => undefined);
    throw err;
  }
}

async function listenAndBringUp(
  options: ServiceOptions,
  definitions: readonly CapabilityDefinition[],
  platform: Platform,
): Promise<RunningService> {
  const { config, logger, db, producer, registry } = platform;
  const built = buildCapabilities(definitions, platform);
  const instances = built.map((b) => b.instance);
  const state: ServiceState = { clickhouse: false, kafka: false, closing: false };
  const app = await buildApp({
    logger,
    keys: use(auth).keys,
    auditor: definitions.includes(audit) ? use(audit).log : undefined,
    registry,
    metricsPublic: config.api.metricsPublic,
    rateLimits: config.api.rateLimits,
    trustProxy: config.api.trustProxy,
    readiness: {
      checks: () =>
        Promise.resolve(
          Object.assign(
            { clickhouse: state.clickhouse, kafka: state.kafka && !state.closing },
            ...instances.map((c) => c.ready?.() ?? {}),
          ) as Record<string, boolean>,
        ),
    },
    routes: instances.flatMap((c) => (c.routes ? [c.routes] : [])),
  });
  let url: string;
  try {
    url = await app.listen({ host: config.api.host, port: options.port ?? config.api.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const abort = new AbortController();
  const ready = bringUp({
    platform,
    definitions,
    instances,
    state,
    signal: abort.signal,
    brokers: options.brokers.join(','),
  });
  ready.catch((err: unknown) => {
    if (!abort.signal.aborted) logger.error({ err: errorMessage(err) }, 'service could not start');
  });

  let closed: Promise<void> | undefined;
  // Ordered: not ready → HTTP closed → capabilities stopped in reverse (consumers drained and
  // committed) → producer → ClickHouse. Every step runs whatever an earlier one threw.
  async function shutDown(): Promise<void> {
    state.closing = true;
    // Not awaiting a start in progress (a Kafka connect can take many seconds): bringUp stops that
    // capability once its start settles; stopped now, it would have had nothing to stop yet.
    const starting = state.starting;
    abort.abort();
    state.pageReleaser?.stop();
    const stops = [...built]
      .reverse()
      .filter((b) => b.instance !== starting)
      .map(({ name, instance }): ShutdownStep => [`stopping ${name}`, () => instance.stop?.()]);
    await everyStep(
      [
        ['closing the API', () => closeApi(app, logger)],
        ...stops,
        ['disconnecting the Kafka producer', () => producer.disconnect()],
        ['closing ClickHouse', () => db.close()],
      ],
      logger,
    );
  }

  function use<T extends Capability>(definition: CapabilityDefinition<T>): T {
    const found = built.find((b) => b.name === definition.name);
    if (!found) throw new Error(`capability ${definition.name} is not part of this service`);
    return found.instance as T;
  }

  return {
    app,
    platform,
    use,
    url,
    ready,
    close() {
      closed ??= shutDown();
      return closed;
    },
  };
}

type ShutdownStep = [what: string, step: () => Promise<void> | undefined];

/** Runs every step whatever an earlier one threw, each failure logged; then throws the first. */
async function everyStep(steps: readonly ShutdownStep[], logger: Logger): Promise<void> {
  let first: { err: unknown } | undefined;
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      logger.error({ err: errorMessage(err) }, `shutdown: ${what} failed`);
      first ??= { err };
    }
  }
  if (first) throw first.err;
}

/**
 * Closes the API. Fastify's close waits for every request in progress, so one long export held
 * the whole shutdown: they get API_CLOSE_GRACE_MS, then their connections are closed.
 */
async function closeApi(app: FastifyInstance, logger: Logger): Promise<void> {
  const closed = app.close();
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), API_CLOSE_GRACE_MS);
  });
  try {
    if (await Promise.race([closed.then(() => false), graceOver])) {
      logger.warn(
        `API requests still in progress ${API_CLOSE_GRACE_MS / 1000} s into shutdown: closing their connections`,
      );
      app.server.closeAllConnections();
      await closed;
    }
  } finally {
    clearTimeout(timer);
  }
}

interface ServiceState {
  clickhouse: boolean;
  kafka: boolean;
  closing: boolean;
  /** The capability whose start is in progress: the shutdown leaves its stop to bringUp. */
  starting?: Capability;
  /** Releases the embedded engine library's pages every few seconds once started. */
  pageReleaser?: PageReleaser;
}

interface BringUp {
  platform: Platform;
  definitions: readonly CapabilityDefinition[];
  instances: Capability[];
  state: ServiceState;
  signal: AbortSignal;
  brokers: string;
}

async function bringUp({ platform, definitions, instances, state, signal, brokers }: BringUp): Promise<void> {
  const { config, logger, db, kafka, producer } = platform;
  // `what` failed, in the log line; undefined when the step's error says it itself.
  const retry = <T>(what: string | undefined, step: () => Promise<T>) =>
    pRetry(step, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 500,
      maxTimeout: 15_000,
      signal,
      onFailedAttempt: ({ error, retryDelay }) =>
        logger.warn(
          `${what === undefined ? '' : `${what}: `}${errorMessage(error)}; retrying in ${Math.round(retryDelay / 100) / 10}s`,
        ),
    });

  /**
   * One attempt at `capability`'s start. A start that settles once shutdown began (which left the
   * stop to this) is stopped here, whatever it did: p-retry rejects once aborted, even after an
   * attempt that succeeded, so nothing after `retry` would see it.
   */
  async function startAttempt(capability: Capability, name: string): Promise<void> {
    signal.throwIfAborted();
    state.starting = capability;
    try {
      await capability.start?.(signal);
    } finally {
      // Together with the check, so that the shutdown either stops it itself or leaves it here.
      state.starting = undefined;
      if (signal.aborted)
        await capability.stop?.().catch((err: unknown) => {
          logger.error({ err: errorMessage(err) }, `shutdown: stopping ${name} once its start ended failed`);
        });
    }
  }

  // Its error names the server: "<db.location> is unreachable: …" (or "answered: …").
  await retry(undefined, () => waitForDatabase(db));
  const report = await retry('migrations failed', () => migrate(db, allMigrations(definitions)));
  if (report.applied.length > 0)
    logger.info({ applied: report.applied.map((m) => m.version) }, 'migrations applied');
  state.clickhouse = true;

  await retry(`Kafka at ${brokers} is unreachable`, () => producer.connect());
  const t = config.topics;
  await retry(`Kafka topics could not be created at ${brokers}`, () =>
    ensureTopics(
      kafka,
      [t.predictions, t.labels, t.accessLog, t.retrain, t.auditDigests, t.deadLetter, config.audit.topic].map(
        (topic) => ({
          topic,
          numPartitions: t.partitions,
          // Audit records wait in Kafka while their chain is held (src/audit/README.md, "never skip").
          keepForever: topic === config.audit.topic || topic === t.auditDigests,
        }),
      ),
      { logger },
    ),
  );
  state.kafka = true;
  for (const [i, capability] of instances.entries()) {
    if (!capability.start) continue;
    const name = definitions[i]?.name ?? 'a capability';
    await retry(`${name} could not start`, () => startAttempt(capability, name));
  }
  // Where the first release cannot run (it said why), neither can the later ones.
  if (db.embedded && config.clickhouse.releaseStartupPages !== false && (await releaseStartupPages(logger))) {
    state.pageReleaser = await keepReleasingPages(config.clickhouse.releasePagesEveryMs ?? 10_000, logger);
    // Closed meanwhile: the shutdown's stop came before there was a releaser to stop.
    if (signal.aborted) state.pageReleaser?.stop();
    signal.throwIfAborted();
  }
  logger.info('modelwatch is ready');
}

/** Goes on releasing the engine library's pages that ingest and queries touch now and then. */
async function keepReleasingPages(intervalMs: number, logger: Logger): Promise<PageReleaser | undefined> {
  const releaser = await releaseEnginePagesEvery(intervalMs, (reason) =>
    logger.warn(`stopped releasing the engine library's pages: ${reason}`),
  );
  if (typeof releaser !== 'string') return releaser;
  logger.info(`the engine library's pages are not released again: ${releaser}`);
  return undefined;
}

/** Hands back the engine library's pages that only start-up used (engine-pages.ts), and says so. */
async function releaseStartupPages(logger: Logger): Promise<boolean> {
  const result = await releaseEngineStartupPages();
  const mb = (bytes: number) => Math.round(bytes / 1_048_576);
  if (!result.released) {
    logger.info(`the engine library's start-up pages stay resident: ${result.reason}`);
    return false;
  }
  logger.info(
    { resident_mb_before: mb(result.residentBefore), resident_mb_after: mb(result.residentAfter) },
    "released the engine library's start-up pages",
  );
  return true;
}
