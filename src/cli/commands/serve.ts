import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type Config } from '../../platform/config/index.js';
import { ModelwatchError, errorMessage } from '../../platform/errors.js';
import { stopIdleRequestQueuePolling, startLocalBroker } from '../../platform/kafka/index.js';
import { createLogger, logFormat, StatusLine, type Logger } from '../../platform/observability/index.js';
import { startService, type RunningService } from '../../service/index.js';
import {
  BROKER_LOCK_FILE,
  lockDataDir,
  parseOptions,
  untilSignal,
  type Command,
} from '../../platform/cli/index.js';
import { startStoryFor, storyOptions } from './story.js';

/** Readable logs on a terminal (above the progress line), JSON elsewhere or when configured. */
function consoleLogger(config: Config, status: StatusLine): Logger {
  return createLogger(config.logLevel, { format: logFormat(config.logFormat, status.isTTY), status });
}

/** Something `up` runs beside the service (the simulator), stopped before it. */
interface Companion {
  stop(): Promise<void>;
}

/**
 * How long the service may take to close after SIGTERM. Closing aborts a write being retried
 * (its offsets stay uncommitted), so it normally takes well under a second; API requests still in
 * progress get the first API_CLOSE_GRACE_MS (3 s) of it. This bounds it below the 10 s an
 * orchestrator usually waits before SIGKILL, whatever hangs.
 */
const CLOSE_DEADLINE_MS = 8_000;

async function closeWithin(service: RunningService, logger: Logger): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      logger.error(
        `shutdown took longer than ${CLOSE_DEADLINE_MS / 1000} s; exiting with the unfinished batches uncommitted`,
      );
      resolve(1);
    }, CLOSE_DEADLINE_MS);
  });
  const closed = service.close().then(
    () => 0,
    (err: unknown) => {
      logger.error({ err: errorMessage(err) }, 'shutdown failed');
      return 1;
    },
  );
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Leaves once shutdown is over even when a library still holds the event loop: kafkajs goes on
 * retrying a connect begun before the signal (up to ~30 s while Kafka is down), which would keep
 * the process past the deadline above. Unref'd, so a process with nothing left exits at once.
 */
function exitOnceStopped(code: number): number {
  setTimeout(() => process.exit(code), 500).unref();
  return code;
}

async function runUntilSignal(
  config: Config,
  logger: Logger,
  brokers: string[],
  companion?: (service: RunningService) => Promise<Companion | undefined>,
): Promise<number> {
  const service = await startService({ config, logger, brokers });
  const starting = companion?.(service).catch((err: unknown) => {
    logger.error({ err: errorMessage(err) }, 'the simulator could not start');
    return undefined;
  });
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  // A second signal means "now": the broker re-delivers whatever was not committed.
  void untilSignal().then(() => process.exit(130));
  // A companion still starting (the service never became ready) is not waited for long; the
  // timer is unref'd so that it does not hold the process once the companion answered.
  const beside =
    starting &&
    (await Promise.race([starting, sleep(5_000, undefined, { ref: false }).then(() => undefined)]));
  await beside?.stop();
  return closeWithin(service, logger);
}

export const serveCommand: Command = {
  async run(args) {
    parseOptions(args, {}, 'modelwatch serve', { allowPositionals: false });
    const config = loadConfig();
    if (!config.kafka.brokers) {
      throw new ModelwatchError(
        'CONFIG_INVALID',
        'serve needs MODELWATCH_KAFKA_BROKERS (or run `modelwatch up` for a local broker)',
      );
    }
    stopIdleRequestQueuePolling();
    const logger = consoleLogger(config, new StatusLine());
    const brokers = config.kafka.brokers;
    return exitOnceStopped(await holdingDataDir(config, () => runUntilSignal(config, logger, brokers)));
  },
};

/** The URL as the logs show it: any password masked (README, "Configuration"). */
function withMaskedPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** What `up` prints before the service starts; `generatedKey` only when it made one for this run. */
function banner(config: Config, brokers: string[], localBroker: boolean, generatedKey?: string): string {
  const api = `http://localhost:${config.api.port}`;
  const { url, dataDir } = config.clickhouse;
  return [
    'modelwatch is starting',
    `  API        ${api}/api/v1   (OpenAPI: ${api}/docs, metrics: ${api}/metrics)`,
    `  Kafka      ${brokers.join(',')}${localBroker ? ' (local broker)' : ''}`,
    `  ClickHouse ${url ? withMaskedPassword(url) : `embedded, data in ${dataDir}`}`,
    generatedKey
      ? `  admin key  ${generatedKey}   (generated for this run; set MODELWATCH_ADMIN_KEY to keep one)`
      : '  admin key  from MODELWATCH_ADMIN_KEY',
    '',
  ].join('\n');
}

/**
 * Runs `step` holding MODELWATCH_DATA_DIR when anything is kept there (the local broker's logs,
 * the embedded engine): a second `up` on the same dir started a second broker on the first one's
 * logs, which then could not stop cleanly and left its metadata log corrupt; and the lock tells
 * `keys` and `audit verify` which process holds the engine they cannot open.
 */
async function holdingDataDir(config: Config, step: () => Promise<number>): Promise<number> {
  if (config.kafka.brokers && config.clickhouse.url) return step();
  const unlock = await lockDataDir(config.clickhouse.dataDir);
  try {
    return await step();
  } finally {
    unlock();
  }
}

/**
 * Runs `step` on MODELWATCH_KAFKA_BROKERS, or on a local broker started for it and stopped however
 * `step` ends, a start-up error (port taken) included: the broker's process would otherwise hold
 * this one open and stay up itself. The broker's log dir is locked as `kafka --data-dir` locks it:
 * a `kafka --data-dir DATA_DIR/kafka` running there had its broker killed by this one's start
 * (its metadata log read half-written: CorruptRecordException).
 */
async function withBrokers(
  config: Config,
  logger: Logger,
  step: (brokers: string[], local: boolean) => Promise<number>,
): Promise<number> {
  if (config.kafka.brokers) return step(config.kafka.brokers, false);
  const dataDir = path.join(config.clickhouse.dataDir, 'kafka');
  const unlock = await lockDataDir(dataDir, BROKER_LOCK_FILE);
  try {
    const broker = await startLocalBroker({
      version: config.kafka.localVersion,
      cacheDir: config.cacheDir,
      dataDir,
      logger,
    });
    try {
      return await step(broker.brokers, true);
    } finally {
      await broker.stop();
    }
  } finally {
    unlock();
  }
}

export const upCommand: Command = {
  async run(args) {
    const { values } = parseOptions(
      args,
      { 'no-simulator': { type: 'boolean' }, speed: { type: 'string' }, seed: { type: 'string' } },
      'modelwatch up [--no-simulator] [--speed N] [--seed N]',
      { allowPositionals: false },
    );
    const story = storyOptions(values);
    const config = loadConfig();
    stopIdleRequestQueuePolling();
    const status = new StatusLine();
    const logger = consoleLogger(config, status);
    const generatedKey = config.api.adminKey === undefined;
    const adminKey = config.api.adminKey ?? `mw_${randomBytes(24).toString('base64url')}`;
    // A local demo: loopback only, whatever MODELWATCH_API_HOST says (serve listens where configured).
    const withKey: Config = { ...config, api: { ...config.api, adminKey, host: '127.0.0.1' } };
    const code = await holdingDataDir(config, () =>
      withBrokers(config, logger, (brokers, local) => {
        process.stdout.write(banner(config, brokers, local, generatedKey ? adminKey : undefined));
        const companion = story.enabled
          ? (service: RunningService) =>
              startStoryFor(service, { config: withKey, brokers, logger, status, story })
          : undefined;
        return runUntilSignal(withKey, logger, brokers, companion);
      }),
    );
    return exitOnceStopped(code);
  },
};
