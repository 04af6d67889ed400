import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import { KafkaFlightRecorder, attachFlightRecorder } from './flight-recorder.js';
import { stopIdleRequestQueuePolling } from './request-queue-fix.js';

export type { Kafka };

type LevelName = 'error' | 'warn' | 'info' | 'debug';

const levelNames: Record<number, LevelName> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Warnings kafkajs prints for choices made on purpose: the default partitioner is the Java
 * client's (murmur2, named where it matters), and the transactional producers bound their retries
 * and rely on fencing (src/triggers/README.md).
 */
const KNOWN_WARNINGS = [
  'KafkaJS v2.0.0 switched default partitioner',
  'Limiting retries for the idempotent producer',
];

/**
 * The level a kafkajs entry gets in our log. kafkajs logs every retriable broker answer (a
 * rebalance in progress, a coordinator still loading) at ERROR from its Connection layer, then
 * handles it, and the known warnings above are choices: both debug. An ERROR carrying a
 * `retryCount` is a retry in progress (a transaction's markers still being written, say): a warning,
 * since our callers report a failure that outlasts the retries. So a person's console shows what matters.
 */
export function kafkaLogLevel(
  namespace: string,
  level: logLevel,
  log: { message: string; retryCount?: unknown },
): LevelName {
  if (namespace === 'Connection' || KNOWN_WARNINGS.some((w) => log.message.startsWith(w))) return 'debug';
  if (level === logLevel.ERROR && log.retryCount !== undefined) return 'warn';
  return levelNames[level] ?? 'info';
}

function kafkaLogCreator(logger: Logger, recorder?: KafkaFlightRecorder) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      recorder?.record(namespace, level, log);
      // With a recorder kafkajs logs at DEBUG for it; the log itself stays at INFO.
      if (level > logLevel.INFO) return;
      const { message, ...extra } = log;
      logger[kafkaLogLevel(namespace, level, log)]({ kafka: namespace, ...extra }, message);
    };
}

function saslOptions(config: KafkaConfig): SASLOptions | undefined {
  if (!config.sasl) return undefined;
  const { mechanism, username, password } = config.sasl;
  return { mechanism, username, password };
}

export function createKafka(
  config: KafkaConfig,
  brokers: string[],
  logger: Logger,
  /** Retries of a connection or request: a one-shot command that must not wait a minute on a broker that is down sets 1. @default 8 */
  retries = 8,
): Kafka {
  stopIdleRequestQueuePolling();
  const ssl = config.ssl
    ? {
        rejectUnauthorized: config.sslRejectUnauthorized,
        ...(config.sslCaFile ? { ca: [readFileSync(config.sslCaFile, 'utf8')] } : {}),
      }
    : undefined;
  const recorder = config.debugRing ? new KafkaFlightRecorder(config.debugRing) : undefined;
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers,
    ssl,
    sasl: saslOptions(config),
    connectionTimeout: 5_000,
    logLevel: recorder ? logLevel.DEBUG : logLevel.INFO,
    logCreator: kafkaLogCreator(logger.child({ component: 'kafkajs' }), recorder),
    retry: { retries, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  if (recorder) attachFlightRecorder(kafka, recorder);
  return kafka;
}
