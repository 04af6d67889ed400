import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../observability/index.js';
import { dockerReachable, startDockerBroker } from './docker-broker.js';
import { startMavenBroker } from './maven-broker.js';
import { startMavenCluster } from './maven-cluster.js';
import type { LocalBroker, LocalCluster } from './types.js';

export interface LocalBrokerOptions {
  version: string;
  cacheDir: string;
  /** Keep the broker's data here across runs; a temporary folder otherwise. */
  dataDir?: string;
  logger: Logger;
}

/** SPEC 2: a Docker engine when one answers, else the broker from Maven Central on `java`. */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  if (await dockerReachable()) {
    try {
      return await startDockerBroker(options.version, options.logger);
    } catch (err) {
      // testcontainers is a dev dependency: an install without it still has the Maven path.
      options.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'Docker broker unavailable; using the Maven broker',
      );
    }
  }
  const ephemeral = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'modelwatch-kafka-')));
  return startMavenBroker({
    version: options.version,
    cacheDir: options.cacheDir,
    dataDir,
    ephemeral,
    logger: options.logger,
  });
}

/** Several KRaft nodes from the Maven jars (no Docker path: the fault tests kill single nodes). */
export async function startLocalCluster(
  /** `startTimeoutMs`: how long to wait for a node, at the start and on each restart. @default 120000 */
  options: LocalBrokerOptions & { nodes: number; startTimeoutMs?: number },
): Promise<LocalCluster> {
  const ephemeral = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'modelwatch-kafka-cluster-')));
  return startMavenCluster({
    version: options.version,
    cacheDir: options.cacheDir,
    dataDir,
    ephemeral,
    nodes: options.nodes,
    logger: options.logger,
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
  });
}
