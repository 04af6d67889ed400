import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../observability/index.js';
import {
  assertJavaAndMaven,
  openBrokerLog,
  resolveKafkaJars,
  waitUntilReady,
  type BrokerLog,
} from './maven-broker.js';
import { freePort, kafkaClusterId, runCommand } from './tools.js';
import type { LocalCluster } from './types.js';

export interface MavenClusterOptions {
  /** Apache Kafka version from Maven Central. @default '4.1.1' */
  version: string;
  cacheDir: string;
  /** One sub-folder per node (`node-<id>`). */
  dataDir: string;
  /** Delete `dataDir` on stop. */
  ephemeral: boolean;
  /** Combined controller+broker nodes. @default 3 */
  nodes: number;
  logger: Logger;
  /** Give up waiting for a node after this long. @default 120000 */
  startTimeoutMs?: number;
}

interface NodeSpec {
  id: number;
  port: number;
  controllerPort: number;
  dir: string;
  propertiesFile: string;
  logFile: string;
}

function nodeProperties(node: NodeSpec, voters: string, size: number): string {
  // Internal topics follow the cluster size so a three-node cluster survives one node down.
  const replicas = Math.min(3, size);
  const minIsr = replicas >= 3 ? 2 : 1;
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(node.dir, 'logs')}`,
    `offsets.topic.replication.factor=${replicas}`,
    'offsets.topic.num.partitions=4',
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'message.max.bytes=10485760',
    // A restarted node catches up and takes its partitions back quickly.
    'leader.imbalance.check.interval.seconds=10',
    '',
  ].join('\n');
}

/**
 * Kafka logs through slf4j-simple here. Warnings, plus at INFO what a fault test needs afterwards:
 * partition leadership and the group coordinator's loads and unloads, with times.
 */
const LOG_FLAGS = [
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  '-Dorg.slf4j.simpleLogger.showDateTime=true',
  '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
  ...['state.change.logger', 'kafka.cluster.Partition', 'org.apache.kafka.coordinator'].map(
    (name) => `-Dorg.slf4j.simpleLogger.log.${name}=info`,
  ),
];

function spawnNode(classpath: string, node: NodeSpec): { child: ChildProcess; log: BrokerLog } {
  const { fd: out, log } = openBrokerLog(node.logFile);
  const child = spawn(
    'java',
    [
      '-Xms128m',
      '-Xmx512m',
      '-XX:+UseG1GC',
      ...LOG_FLAGS,
      '-cp',
      classpath,
      'kafka.Kafka',
      node.propertiesFile,
    ],
    { stdio: ['ignore', out, out], detached: false },
  );
  closeSync(out);
  return { child, log };
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timeout = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timeout);
}

async function prepareNodes(options: MavenClusterOptions, classpath: string): Promise<NodeSpec[]> {
  const nodes: NodeSpec[] = [];
  for (let id = 1; id <= options.nodes; id++) {
    const dir = path.join(options.dataDir, `node-${id}`);
    await mkdir(dir, { recursive: true });
    nodes.push({
      id,
      port: await freePort(),
      controllerPort: await freePort(),
      dir,
      propertiesFile: path.join(dir, 'server.properties'),
      logFile: path.join(dir, 'broker.log'),
    });
  }
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  const clusterId = kafkaClusterId();
  await Promise.all(
    nodes.map(async (node) => {
      await writeFile(node.propertiesFile, nodeProperties(node, voters, nodes.length));
      await runCommand('java', [
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        node.propertiesFile,
      ]);
    }),
  );
  return nodes;
}

/**
 * Starts a KRaft cluster of combined controller+broker nodes on free loopback ports, one cluster
 * id, every node a quorum voter. Nodes can be killed and started again (fault tests).
 */
export async function startMavenCluster(options: MavenClusterOptions): Promise<LocalCluster> {
  await assertJavaAndMaven();
  const libs = await resolveKafkaJars(options.version, options.cacheDir, options.logger);
  const classpath = `${libs}/*`;
  const nodes = await prepareNodes(options, classpath);
  const children = new Map<number, ChildProcess>();
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const specOf = (id: number): NodeSpec => {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new RangeError(`no node ${id} in this cluster (1..${nodes.length})`);
    return node;
  };
  const startNode = async (id: number): Promise<void> => {
    const node = specOf(id);
    const { child, log } = spawnNode(classpath, node);
    children.set(id, child);
    await waitUntilReady(`127.0.0.1:${node.port}`, child, timeoutMs, log);
  };
  const stop = async () => {
    await Promise.all([...children.values()].map((child) => stopChild(child, 'SIGTERM')));
    if (options.ephemeral) await rm(options.dataDir, { recursive: true, force: true });
  };
  try {
    // Every node must be running before any can elect a quorum leader, so start them together.
    await Promise.all(nodes.map((n) => startNode(n.id)));
  } catch (err) {
    await stop();
    throw err;
  }
  const brokers = nodes.map((n) => `127.0.0.1:${n.port}`);
  options.logger.info({ brokers, version: options.version }, 'local Kafka cluster ready');
  return {
    brokers,
    kind: 'maven',
    nodes: nodes.map((n) => ({ id: n.id, bootstrap: `127.0.0.1:${n.port}` })),
    pidOf: (id) => children.get(specOf(id).id)?.pid,
    kill: (id, signal = 'SIGKILL') => stopChild(children.get(specOf(id).id), signal),
    start: startNode,
    stop,
  };
}
