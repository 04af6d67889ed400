import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cleanUpOnSignal } from '../platform/cli/index.js';
import { SERVICE_NODE_FLAGS, environmentWith, type Config } from '../platform/config/index.js';

/**
 * The service under an ingest benchmark, in a process of its own (`modelwatch serve`), so its
 * memory and CPU are measured alone: in the benchmark's process they included the producer's
 * heap and CPU (about 200 MB and a third of the CPU in the runs before issue 17's change).
 */
export interface ServiceProcess {
  readonly pid: number;
  /** The Node flags it was started with: the launchers' own, then the caller's. */
  readonly nodeFlags: readonly string[];
  /** Resolves once `/readyz` answers 200 (migrated, consumers joined). */
  ready(timeoutMs?: number): Promise<void>;
  /** RSS now, peak RSS so far (the kernel's high-water mark) and CPU seconds so far, all threads. */
  sample(): Promise<ProcessSample>;
  /** SIGTERM, then waits for the exit (the service drains and commits first). */
  stop(): Promise<number | null>;
}

export interface ProcessSample {
  rssBytes: number;
  peakRssBytes: number;
  cpuSeconds: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Reads /proc (Linux): VmRSS and VmHWM from status, utime + stime from stat. */
export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const [status, stat] = await Promise.all([
    readFile(`/proc/${pid}/status`, 'utf8'),
    readFile(`/proc/${pid}/stat`, 'utf8'),
  ]);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuSeconds: ticks / TICKS_PER_SECOND };
}

/** The environment that makes `modelwatch serve` use the benchmark's broker, every one of its topics and groups, and its data dir. */
export function serviceEnvironment(config: Config, brokers: string[], port: number): Record<string, string> {
  return {
    MODELWATCH_KAFKA_BROKERS: brokers.join(','),
    MODELWATCH_DATA_DIR: config.clickhouse.dataDir,
    MODELWATCH_CLICKHOUSE_DATABASE: config.clickhouse.database,
    MODELWATCH_TOPIC_PREDICTIONS: config.topics.predictions,
    MODELWATCH_TOPIC_LABELS: config.topics.labels,
    MODELWATCH_TOPIC_ACCESS_LOG: config.topics.accessLog,
    MODELWATCH_TOPIC_DLQ: config.topics.deadLetter,
    MODELWATCH_TOPIC_RETRAIN: config.topics.retrain,
    MODELWATCH_TOPIC_AUDIT_DIGESTS: config.topics.auditDigests,
    MODELWATCH_TOPIC_AUDIT: config.audit.topic,
    MODELWATCH_CONSUMER_GROUP: config.ingest.consumerGroup,
    MODELWATCH_AUDIT_CONSUMER_GROUP: config.audit.consumerGroup,
    MODELWATCH_API_HOST: '127.0.0.1',
    MODELWATCH_API_PORT: String(port),
    MODELWATCH_ADMIN_KEY: `mw_${randomBytes(18).toString('base64url')}`,
    MODELWATCH_LOG_LEVEL: 'warn',
    MODELWATCH_LOG_FORMAT: 'json',
  };
}

/** How long a child may take to end after SIGTERM before it is killed (the service closes within 8 s). */
const CHILD_STOP_MS = 10_000;

/** SIGTERM, then SIGKILL after CHILD_STOP_MS; resolves once the child is gone. */
async function stopAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops `child` when this process exits or is stopped by a signal (Ctrl-C, `kill`, a CI
 * timeout): a benchmark stopped that way left its service running, consuming its topic and
 * holding its data dir. On a signal the child is waited for, before the benchmark's data dir is
 * removed, and the benchmark then ends by the signal (cleanUpOnSignal). Returns the function that
 * removes the handlers.
 */
export function stopWithParent(child: ChildProcess): () => void {
  const stop = () => void child.kill('SIGTERM');
  const releaseOnSignal = cleanUpOnSignal(() => stopAndWait(child));
  process.once('exit', stop);
  return () => {
    process.removeListener('exit', stop);
    releaseOnSignal();
  };
}

/** Starts `node <the launchers' flags> [nodeFlags] <this CLI> serve` with the benchmark's configuration. */
export async function spawnService(options: {
  config: Config;
  brokers: string[];
  /** Node/V8 flags for the service process, after the launchers' own (a later V8 flag wins). */
  nodeFlags?: string[];
  /** Where the service's log lines go. @default process.stderr */
  log?: NodeJS.WritableStream;
}): Promise<ServiceProcess> {
  const port = await freePort();
  const cli = process.argv[1] ?? '';
  const nodeFlags = [...SERVICE_NODE_FLAGS, ...(options.nodeFlags ?? [])];
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, cli, 'serve'], {
    env: environmentWith(serviceEnvironment(options.config, options.brokers, port)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = options.log ?? process.stderr;
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('the service process did not start');
  const release = stopWithParent(child);
  void exited.then(release);
  return {
    pid,
    nodeFlags,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void exited.then(() => (gone = true));
      while (Date.now() < deadline && !gone) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`the service process ${gone ? 'exited' : 'was not ready'} before answering /readyz`);
    },
    sample: () => sampleProcess(pid),
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
