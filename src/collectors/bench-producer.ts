import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { ModelwatchError } from '../platform/errors.js';
import { producePaced } from './bench-events.js';
import { sampleProcess, stopWithParent } from './bench-service.js';

/** Which client produces the benchmark's paced load. */
export const PRODUCERS = ['java', 'kafkajs'] as const;
export type ProducerKind = (typeof PRODUCERS)[number];

export interface PacedLoad {
  topic: string;
  rate: number;
  seconds: number;
  /** The first event's number (events are numbered on from the backlog). */
  first: number;
  /** How long the producer waits for a broker's metadata before it fails. @default 10000 */
  maxBlockMs?: number;
}

export interface PacedResult {
  produced: number;
  /** CPU seconds of the producing process over the load (for kafkajs, the benchmark's own process). */
  cpuSeconds: number;
}

/** bench/ingest/BenchProducer.java, from dist/collectors or src/collectors. */
const JAVA_SOURCE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../bench/ingest/BenchProducer.java',
);

/**
 * The paced load from Kafka's own producer, run by `java` from its source with the broker's jars:
 * the same events as `producePaced`, for a fraction of the CPU (kafkajs encodes each record and
 * computes the batches' CRC-32C in JavaScript), so the load takes less of the cores the service
 * under test shares with it. Stopped with this process (`stopWithParent`).
 */
export async function producePacedWithJava(
  brokers: readonly string[],
  kafkaLibs: string,
  load: PacedLoad,
): Promise<PacedResult> {
  const child = spawn(
    'java',
    [
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${kafkaLibs}/*`,
      JAVA_SOURCE,
      ...['--bootstrap', brokers.join(','), '--topic', load.topic],
      ...['--rate', String(load.rate), '--seconds', String(load.seconds), '--first', String(load.first)],
      ...['--max-block-ms', String(load.maxBlockMs ?? 10_000)],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const release = stopWithParent(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      // 'close', not 'exit': the result line may still be in the pipe when the process exits.
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`the Java producer exited with ${code}: ${stderr.trim()}`);
    const last = stdout.trim().split('\n').pop() ?? '';
    const result = JSON.parse(last) as { produced: number; cpu_seconds: number };
    return { produced: result.produced, cpuSeconds: result.cpu_seconds };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ModelwatchError(
        'BAD_REQUEST',
        'bench ingest --producer java needs a JDK (17 or newer: java and javac) on the PATH; --producer kafkajs needs none',
        false,
        { cause: err },
      );
    throw err;
  } finally {
    release();
  }
}

/** The paced load from kafkajs in this process; its CPU is this process's over the load. */
export async function producePacedWithKafkajs(kafka: Kafka, load: PacedLoad): Promise<PacedResult> {
  const before = await sampleProcess(process.pid);
  const produced = await producePaced(kafka, load.topic, load);
  const after = await sampleProcess(process.pid);
  return { produced, cpuSeconds: after.cpuSeconds - before.cpuSeconds };
}
