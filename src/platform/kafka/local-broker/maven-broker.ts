import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, fstatSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ModelwatchError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/index.js';
import { commandWorks, freePort, kafkaClusterId, runCommand } from './tools.js';
import type { LocalBroker } from './types.js';

export interface MavenBrokerOptions {
  /** Apache Kafka version from Maven Central. @default '4.1.1' */
  version: string;
  /** Jars are cached under `<cacheDir>/kafka/<version>/libs`. */
  cacheDir: string;
  /** Broker data and log; a fresh temporary folder when `ephemeral`. */
  dataDir: string;
  /** Delete `dataDir` on stop. */
  ephemeral: boolean;
  logger: Logger;
  /** Give up waiting for the broker after this long. @default 90000 */
  startTimeoutMs?: number;
  /** JVM options after the defaults (heap, G1), e.g. `-XX:TieredStopAtLevel=1`. */
  jvmOptions?: readonly string[];
  /** A Docker broker would do instead: the missing-tools error names Docker. @default false */
  dockerWouldDo?: boolean;
}

const pom = (version: string) => `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>modelwatch.local</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

/**
 * The one line naming what the Maven broker needs. A Docker engine is named only where a Docker
 * broker would be started instead (`dockerWouldDo`: a throwaway single broker); `up` and `kafka
 * --data-dir` keep the broker's data in a directory, which only the Maven broker does.
 */
export function javaAndMavenMissing(missing: readonly string[], dockerWouldDo: boolean): string {
  const instead = dockerWouldDo
    ? 'start a Docker engine, or set MODELWATCH_KAFKA_BROKERS'
    : 'set MODELWATCH_KAFKA_BROKERS to a running broker';
  return (
    'no Kafka broker: the local broker is Apache Kafka from Maven Central, run with java (17 or newer) ' +
    `and resolved with mvn (Apache Maven); install ${missing.join(' and ')} ` +
    `(Debian: apt-get install openjdk-17-jre-headless maven), or ${instead}`
  );
}

/** @param dockerWouldDo see javaAndMavenMissing. @default false */
export async function assertJavaAndMaven(dockerWouldDo = false): Promise<void> {
  const [java, mvn] = await Promise.all([commandWorks('java', ['-version']), commandWorks('mvn', ['-v'])]);
  const missing = [java ? undefined : 'java (17 or newer)', mvn ? undefined : 'mvn (Apache Maven)'].filter(
    (tool) => tool !== undefined,
  );
  if (missing.length > 0)
    throw new ModelwatchError('BROKER_SETUP', javaAndMavenMissing(missing, dockerWouldDo));
}

/** Resolves the official broker and its dependencies from Maven Central into the cache, once. */
export async function resolveKafkaJars(version: string, cacheDir: string, logger: Logger): Promise<string> {
  const home = path.join(cacheDir, 'kafka', version);
  const libs = path.join(home, 'libs');
  const marker = path.join(home, '.resolved');
  if (existsSync(marker)) return libs;
  logger.info({ version, libs }, 'resolving Apache Kafka from Maven Central (first run only)');
  await mkdir(home, { recursive: true });
  await writeFile(path.join(home, 'pom.xml'), pom(version));
  try {
    await runCommand(
      'mvn',
      ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
      { cwd: home, timeoutMs: 900_000 },
    );
  } catch (err) {
    const detail =
      err instanceof Error && 'stdout' in err ? String((err as { stdout: unknown }).stdout).slice(-500) : '';
    throw new ModelwatchError(
      'BROKER_SETUP',
      `mvn could not resolve org.apache.kafka:kafka_2.13:${version}: ${errorMessage(err)} ${detail}`,
      false,
      {
        cause: err,
      },
    );
  }
  await writeFile(marker, new Date().toISOString());
  return libs;
}

function serverProperties(dataDir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(dataDir, 'logs')}`,
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'message.max.bytes=10485760',
    '',
  ].join('\n');
}

async function formatStorage(classpath: string, dataDir: string, propertiesFile: string): Promise<void> {
  if (existsSync(path.join(dataDir, 'logs', 'meta.properties'))) return;
  const clusterId = kafkaClusterId();
  await runCommand('java', [
    '-cp',
    classpath,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    propertiesFile,
  ]);
}

/** A broker's log file and where this start's lines begin in it (the file grows across runs). */
export interface BrokerLog {
  file: string;
  from: number;
}

/** Opens `file` for a broker's output (appended); closed by the caller once the broker holds it. */
export function openBrokerLog(file: string): { fd: number; log: BrokerLog } {
  const fd = openSync(file, 'a');
  return { fd, log: { file, from: fstatSync(fd).size } };
}

/** An ERROR entry, an exception's message or its cause: not the stack frames under them. */
const ERROR_LINE = /\bERROR\b|^(Caused by: )?[\w.$]*(Exception|Error)\b/;

/** The last line of this start's log that names an error, else its last line (a stack is noise here). */
async function lastErrorLine({ file, from }: BrokerLog): Promise<string> {
  const text = await readFile(file).then(
    (bytes) => bytes.subarray(from).toString('utf8'),
    () => '',
  );
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return (lines.findLast((line) => ERROR_LINE.test(line)) ?? lines.at(-1) ?? 'nothing logged').trim();
}

export async function waitUntilReady(
  bootstrap: string,
  child: ChildProcess,
  timeoutMs: number,
  log: BrokerLog,
): Promise<void> {
  const kafka = new Kafka({
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return;
    } catch {
      await admin.disconnect().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw new ModelwatchError(
    'BROKER_SETUP',
    `local Kafka broker did not become ready on ${bootstrap} (log ${log.file}): ${await lastErrorLine(log)}`,
  );
}

/**
 * The broker runs in its own process group, so a Ctrl-C on the terminal reaches only the service,
 * which drains its batches and commits before it stops the broker (in the terminal's group the
 * JVM died first and the service's shutdown timed out reconnecting). A shell holds the JVM on a
 * lifeline: it stops the broker (SIGTERM, a clean shutdown) when its stdin closes, which is both
 * how `stop` works and what happens when this process dies, even by SIGKILL, so no broker is
 * left behind. The shell itself waits on the JVM, so a JVM that dies (a port taken, a bad data
 * directory) ends it at once and start-up fails then, not after its whole timeout.
 */
export function spawnBroker(javaArgs: string[], out: number | 'ignore'): ChildProcess {
  // fd 3 keeps stdin for the watcher: a background list's own stdin is /dev/null.
  const lifeline = [
    'exec 3<&0',
    'java "$@" <&- 3<&- & broker=$!',
    "trap 'kill $broker' TERM INT",
    '(cat <&3 >/dev/null; kill $broker 2>/dev/null) &',
    'exec 3<&-',
    'wait $broker',
    // Again, when a trapped signal interrupted the first wait.
    'wait $broker',
  ].join('\n');
  return spawn('sh', ['-c', lifeline, 'kafka-broker', ...javaArgs], {
    stdio: ['pipe', out, out],
    detached: true,
  });
}

/** Ends the lifeline (the JVM stops cleanly), the whole group killed after 20 s; at once if it ended already. */
export async function stopBrokerProcess(child: ChildProcess): Promise<void> {
  // A shell killed by a signal has a signalCode and no exitCode, and its 'exit' has fired.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin?.end();
  // The whole group: the shell and the JVM it holds.
  const timeout = setTimeout(() => killGroup(child), 20_000);
  await exited;
  clearTimeout(timeout);
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Starts Apache Kafka in KRaft combined mode on free loopback ports with `java`. */
export async function startMavenBroker(options: MavenBrokerOptions): Promise<LocalBroker> {
  await assertJavaAndMaven(options.dockerWouldDo);
  const libs = await resolveKafkaJars(options.version, options.cacheDir, options.logger);
  const classpath = `${libs}/*`;
  await mkdir(options.dataDir, { recursive: true });
  const [port, controllerPort] = [await freePort(), await freePort()];
  const propertiesFile = path.join(options.dataDir, 'server.properties');
  await writeFile(propertiesFile, serverProperties(options.dataDir, port, controllerPort));
  await formatStorage(classpath, options.dataDir, propertiesFile);
  const { fd: out, log } = openBrokerLog(path.join(options.dataDir, 'broker.log'));
  const child = spawnBroker(
    [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      ...(options.jvmOptions ?? []),
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      classpath,
      'kafka.Kafka',
      propertiesFile,
    ],
    out,
  );
  closeSync(out);
  const bootstrap = `127.0.0.1:${port}`;
  const stop = async () => {
    await stopBrokerProcess(child);
    if (options.ephemeral) await rm(options.dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(bootstrap, child, options.startTimeoutMs ?? 90_000, log);
  } catch (err) {
    await stop();
    throw err;
  }
  options.logger.info({ bootstrap, version: options.version, pid: child.pid }, 'local Kafka broker ready');
  return { brokers: [bootstrap], kind: 'maven', pid: child.pid, stop };
}
