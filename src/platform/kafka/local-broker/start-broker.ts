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
  /** The Maven broker's JVM options after its defaults (not the Docker broker's). */
  jvmOptions?: readonly string[];
}

/**
 * Which broker to start: the Maven one when its data must be kept in `dataDir` (a Docker broker
 * keeps its logs in a throwaway container: topics and committed offsets were gone at its stop,
 * with no word); else Docker when an engine answers (`dockerAnswers` is asked only then).
 */
export async function chooseBrokerBackend(
  dataDir: string | undefined,
  dockerAnswers: () => Promise<boolean>,
): Promise<{ backend: 'docker' | 'maven'; reason: string }> {
  if (dataDir !== undefined)
    return { backend: 'maven', reason: `keeps its data in ${dataDir} (a Docker broker would not)` };
  return (await dockerAnswers())
    ? { backend: 'docker', reason: 'a Docker engine answers' }
    : { backend: 'maven', reason: 'no Docker engine answers' };
}

/**
 * SPEC 2: a Docker engine when one answers, else the broker from Maven Central on `java`; the
 * Maven broker whenever `dataDir` is given, so that its data is kept there.
 */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  const choice = await chooseBrokerBackend(options.dataDir, dockerReachable);
  if (choice.backend === 'docker') {
    try {
      return await startDockerBroker(options.version, options.logger);
    } catch (err) {
      // testcontainers is a dev dependency: an install without it still has the Maven path.
      options.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'Docker broker unavailable; using the Maven broker',
      );
    }
  } else if (options.dataDir !== undefined) {
    options.logger.info(
      { dataDir: options.dataDir },
      `local broker: the Maven broker, which ${choice.reason}`,
    );
  }
  const ephemeral = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'modelwatch-kafka-')));
  return startMavenBroker({
    version: options.version,
    cacheDir: options.cacheDir,
    dataDir,
    ephemeral,
    logger: options.logger,
    jvmOptions: options.jvmOptions,
    // A throwaway broker with no Docker engine answering: one would do. Not so for a data dir, or
    // with an engine that answered but whose broker did not start (testcontainers not installed).
    dockerWouldDo: choice.backend === 'maven' && options.dataDir === undefined,
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
