import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigResourceTypes, Partitioners } from 'kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { openDatabase } from '../../src/platform/clickhouse/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { prediction } from '../support/events.js';
import {
  createTopics,
  isolatedEnv,
  produce,
  testKafka,
  waitFor,
  waitForGroupAtEnd,
} from '../support/harness.js';
import { readTopicMessages } from '../support/triggers.js';

const cli = path.resolve('dist/cli/main.js');
const PARTITIONS = 3;

function serve(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

async function storedCount(port: string): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const body = await response.text();
  const match = /modelwatch_messages_total\{topic="[^"]+\.predictions",outcome="stored"\} (\d+)/.exec(body);
  return match ? Number(match[1]) : undefined;
}

/** The group's committed offsets on `topic`, summed (a partition without a commit counts 0). */
async function committedSum(groupId: string, topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Sends `values` to the partitions round-robin, 2,000 a request, in order. */
async function sendRoundRobin(topic: string, values: string[]): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < values.length; i += 2_000)
      await producer.send({
        topic,
        acks: -1,
        messages: values.slice(i, i + 2_000).map((value, j) => ({ partition: (i + j) % PARTITIONS, value })),
      });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Sets the dead-letter topic's max.message.bytes, creating the topic with it if `create`. At 1
 * byte the broker refuses every record (MESSAGE_TOO_LARGE), even a letter without its value.
 */
async function setMaxMessageBytes(topic: string, bytes: number, create = false): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const configEntries = [{ name: 'max.message.bytes', value: String(bytes) }];
    if (create) await createTopics([{ topic, numPartitions: PARTITIONS, configEntries }]);
    else
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries }],
      });
  } finally {
    await admin.disconnect();
  }
}

describe('a consumer killed mid-batch', () => {
  it('loses nothing and counts nothing twice once another instance takes over (real process, SIGKILL)', async () => {
    expect(existsSync(cli), 'the CLI is built (npm test runs npm run build first)').toBe(true);
    const total = 20_000;
    const port = String(await freePort());
    const env = isolatedEnv({
      MODELWATCH_BATCH_MAX_ROWS: '1000',
      MODELWATCH_API_PORT: port,
      MODELWATCH_LOG_LEVEL: 'error',
      MODELWATCH_TOPIC_PARTITIONS: String(PARTITIONS),
    });
    const config = loadConfig(env);
    const group = config.ingest.consumerGroup;
    const topic = config.topics.predictions;
    const events = Array.from({ length: total }, (_, i) => JSON.stringify(prediction(i)));

    // Without a hold the kill races the commits: a batch's commit follows its write within
    // milliseconds, and a kill "once some rows are stored" found them all committed in 3 runs
    // of 15 (the second instance then never read a stored row again). No setting of the
    // service delays a commit, so the hold comes from outside: a batch writes its rows, then its
    // dead letters (acks=-1, awaited), and only then commits. The dead-letter topic is made
    // before the service starts (it leaves existing topics as they are) with a
    // max.message.bytes no letter fits in, so a batch holding a poison message stays stored
    // but uncommitted for good (its write is retried), and so does every batch after it
    // (commits go in order). (min.insync.replicas above the replica count does not hold: the
    // broker caps it at the replica count.)
    await setMaxMessageBytes(config.topics.deadLetter, 1, true);

    const first = serve(env);
    // Ready, not only up: its topics exist (with PARTITIONS partitions) before anything is sent.
    await waitFor(
      'first instance ready',
      () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.ok ? true : undefined)),
      60_000,
    );
    // Clean traffic first, stored and committed: the kill then leaves a committed prefix.
    const committedPart = 4_000;
    await sendRoundRobin(topic, events.slice(0, committedPart));
    expect(await waitForGroupAtEnd(group, topic, 120_000)).toBe(committedPart);
    // Then a poison message at the head of every partition, in the same request as the clean
    // messages after it: the first batch read from here holds a poison message and clean rows.
    const half = total / 2;
    await sendRoundRobin(topic, [
      ...Array.from({ length: PARTITIONS }, (_, i) => `not json ${i}`),
      ...events.slice(committedPart, half),
    ]);
    // Kill it once rows past the committed part are stored: they are written, not committed.
    const storedBeforeKill = await waitFor('rows stored past the committed part', async () => {
      const stored = await storedCount(port);
      return stored !== undefined && stored > committedPart ? stored : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    // Redelivery: the group resumes from offsets below rows already stored, so the next instance
    // stores those rows again (they must collapse, below).
    const committedAtKill = await committedSum(group, topic);
    console.log(
      `at the kill: ${storedBeforeKill} rows stored, offsets committed up to ${committedAtKill} messages`,
    );
    expect(committedAtKill, 'committed offsets below the rows stored').toBeLessThan(storedBeforeKill);
    expect(committedAtKill, 'nothing committed past the first poison message').toBe(committedPart);

    await produce(topic, events.slice(half));
    // Letters fit again (the broker's default size): the next instance is not held.
    await setMaxMessageBytes(config.topics.deadLetter, 1_048_588);
    const second = serve(env);
    await waitForGroupAtEnd(group, topic, 300_000);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    // One letter per poison message: the first instance's sends were refused, not written, so
    // the second instance's are the only ones.
    const letters = await readTopicMessages(config.topics.deadLetter);
    expect(letters.map(({ message }) => message.value?.toString()).sort()).toEqual(
      Array.from({ length: PARTITIONS }, (_, i) => `not json ${i}`),
    );
    const db = await openDatabase(config.clickhouse);
    try {
      const result = await db.client.query({
        query: `SELECT (SELECT count() FROM predictions FINAL) AS final, (SELECT uniqExact(prediction_id) FROM predictions) AS ids,
                       (SELECT count() FROM predictions) AS raw`,
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ final: number; ids: number; raw: number }>();
      expect(row?.final).toBe(total);
      expect(row?.ids).toBe(total);
      expect(row?.raw).toBeGreaterThanOrEqual(total);
    } finally {
      await db.close();
    }
  }, 420_000);
});
