import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { benchEvent } from '../../src/collectors/bench-events.js';
import { producePacedWithJava } from '../../src/collectors/bench-producer.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { ensureTopics, resolveKafkaJars } from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { readTopic } from '../support/cluster.js';
import { brokers, testKafka, uniqueName } from '../support/harness.js';

const SOURCE = path.resolve('bench/ingest/BenchProducer.java');

async function kafkaLibs(): Promise<string> {
  const config = loadConfig();
  return resolveKafkaJars(config.kafka.localVersion, config.cacheDir, createLogger('warn', 'test'));
}

/** BenchProducer's `--print` mode: its events, one a line. */
async function javaEvents(first: number, count: number, timestamp: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    'java',
    [
      '-cp',
      `${await kafkaLibs()}/*`,
      SOURCE,
      '--print',
      String(count),
      '--first',
      String(first),
      '--timestamp',
      String(timestamp),
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.trimEnd().split('\n');
}

// `java` runs a source file only with a JDK (`.ci/run` installs one); elsewhere the benchmark uses kafkajs.
const hasJdk = spawnSync('javac', ['-version']).status === 0;

describe.skipIf(!hasJdk)("the ingest benchmark's Java producer", () => {
  it('writes the events of benchEvent byte for byte', async () => {
    const timestamp = 1_764_900_000_123;
    // Every feature variant (10,007) and the id, score and status cycles; then ids past 2^31.
    for (const [first, count] of [
      [0, 20_100],
      [9_999_999_990, 20],
    ] as const) {
      const lines = await javaEvents(first, count, timestamp);
      expect(lines).toHaveLength(count);
      const mismatched = lines.findIndex((line, k) => line !== benchEvent(first + k, timestamp));
      expect(
        mismatched === -1
          ? undefined
          : { line: lines[mismatched], expected: benchEvent(first + mismatched, timestamp) },
      ).toBeUndefined();
    }
  });

  it('paces its events to a real broker, each once, stamped with their send time', async () => {
    const kafka = testKafka();
    const topic = uniqueName('bench_producer');
    await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
    const before = Date.now();
    const result = await producePacedWithJava(brokers(), await kafkaLibs(), {
      topic,
      rate: 2_000,
      seconds: 1.5,
      first: 500,
    });
    const after = Date.now();
    // 200 events a tick of 100 ms, 15 ticks.
    expect(result.produced).toBe(3_000);
    expect(result.cpuSeconds).toBeGreaterThan(0);
    const events = (await readTopic(kafka, topic)).map(
      (m) => JSON.parse(m.value!.toString()) as { prediction_id: string; timestamp: number },
    );
    expect(events).toHaveLength(3_000);
    const ids = events.map((e) => Number(e.prediction_id.slice('bench-'.length))).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 3_000 }, (_, k) => 500 + k));
    for (const e of events) expect(e.timestamp).toSatisfy((t: number) => t >= before && t <= after);
    const stamps = events.map((e) => e.timestamp).sort((a, b) => a - b);
    // Paced, not sent at once: the events span about the load's 1.5 s.
    expect(stamps[stamps.length - 1]! - stamps[0]!).toBeGreaterThan(1_200);
  });

  it('reports a broker it cannot reach as an error', async () => {
    await expect(
      producePacedWithJava(['127.0.0.1:1'], await kafkaLibs(), {
        topic: 'nowhere',
        rate: 10,
        seconds: 0.1,
        first: 0,
        maxBlockMs: 1_000,
      }),
    ).rejects.toThrow(/the Java producer exited with 1/);
  });
});
