import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import { KafkaFlightRecorder, attachFlightRecorder } from './flight-recorder.js';
import { stopIdleRequestQueuePolling } from './request-queue-fix.js';

export type { Kafka };

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs every retriable broker answer (a rebalance in progress, a coordinator still
 * loading) at ERROR from its Connection layer, then handles it. Those go to debug; the
 * consumer runner and our own code report what matters.
 */
/**
 * Warnings kafkajs prints for choices made on purpose: the default partitioner is the Java
 * client's (murmur2, named where it matters), and the transactional producers bound their retries
 * and rely on fencing (src/triggers/README.md). Debug, so a person's console shows what matters.
 */
const KNOWN_WARNINGS = [
  'KafkaJS v2.0.0 switched default partitioner',
  'Limiting retries for the idempotent producer',
];

function kafkaLogCreator(logger: Logger, recorder?: KafkaFlightRecorder) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      recorder?.record(namespace, level, log);
      // With a recorder kafkajs logs at DEBUG for it; the log itself stays at INFO.
      if (level > logLevel.INFO) return;
      const { message, ...extra } = log;
      const known = KNOWN_WARNINGS.some((w) => message.startsWith(w));
      const name = namespace === 'Connection' || known ? 'debug' : (levelNames[level] ?? 'info');
      logger[name]({ kafka: namespace, ...extra }, message);
    };
}

function saslOptions(config: KafkaConfig): SASLOptions | undefined {
  if (!config.sasl) return undefined;
  const { mechanism, username, password } = config.sasl;
  return { mechanism, username, password };
}

export function createKafka(config: KafkaConfig, brokers: string[], logger: Logger): Kafka {
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
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  if (recorder) attachFlightRecorder(kafka, recorder);
  return kafka;
}
