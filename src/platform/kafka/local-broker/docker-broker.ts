import { existsSync } from 'node:fs';
import type { Logger } from '../../observability/index.js';
import { commandWorks, freePort } from './tools.js';
import type { LocalBroker } from './types.js';

/** A Docker engine answers (not just the client being installed). */
export async function dockerReachable(): Promise<boolean> {
  const socket = process.env['DOCKER_HOST'] !== undefined || existsSync('/var/run/docker.sock');
  return socket && commandWorks('docker', ['info', '--format', '{{.ServerVersion}}'], 5_000);
}

/**
 * The official `apache/kafka` image through testcontainers. The host port is chosen first
 * and bound 1:1, because KRaft must advertise the address clients will dial.
 */
export async function startDockerBroker(version: string, logger: Logger): Promise<LocalBroker> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const port = await freePort();
  const container = await new GenericContainer(`apache/kafka:${version}`)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_MESSAGE_MAX_BYTES: '10485760',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  logger.info({ bootstrap: `127.0.0.1:${port}`, version }, 'Kafka broker container ready');
  return {
    brokers: [`127.0.0.1:${port}`],
    kind: 'docker',
    stop: async () => {
      await container.stop();
    },
  };
}
