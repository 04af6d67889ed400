import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.js';
import { runFault, type FaultFigures } from '../support/faults.js';
import { publisherThroughOutage } from '../support/publisher-rebuild.js';
import { killDuringRebalance } from '../support/rebalance-kill.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// One three-node cluster shared by the faults (starting one costs about a minute on 2 cores).
// The losses these tests once showed (issue 13) were the test producer's: a kafkajs send spanning
// brokers drops a failed partition's messages on retry (src/platform/kafka/partitioned-send.ts).
// Each test now also checks every id against the topic itself, so a loss names its side.
describe('a three-broker cluster under faults', () => {
  const env = useCluster(3);
  const figures: FaultFigures[] = [];

  // Once skipped for a commit stall after the node's return (issue 13): kafkajs 2.2.4 kept sending
  // the group's commits to the coordinator that moved away while its heartbeats reached the new
  // one. The batch consumer now rebuilds its kafkajs consumer when no commit is confirmed for 60 s.
  it('topics at replication factor 3, min.insync.replicas=2; the leader of a busy partition SIGKILLed mid-ingest, then restarted: nothing lost or repeated', async () => {
    const result = await runFault(
      'leader SIGKILLed mid-ingest, then restarted',
      env.kafka(),
      env.cluster.brokers,
      async ({ service, faultStarted }) => {
        const admin = env.kafka().admin();
        await admin.connect();
        try {
          const topic = service.config.topics.predictions;
          const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
          expect(meta?.partitions.every((p) => p.replicas.length === 3)).toBe(true);
          const [described] = (
            await admin.describeConfigs({
              resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
              includeSynonyms: false,
            })
          ).resources;
          expect(
            described?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue,
          ).toBe('2');
          const leader = meta?.partitions.find((p) => p.partitionId === 0)?.leader ?? 1;
          faultStarted();
          await env.cluster.kill(leader, 'SIGKILL');
          await sleep(8_000);
          await env.cluster.start(leader);
        } finally {
          await admin.disconnect();
        }
      },
    );
    figures.push(result);
  }, 700_000);

  // The same stall was seen here (every row stored, commits at 15,868 of 16,539 for 300 s).
  it('loses and repeats nothing through a rolling restart of every broker while ingesting', async () => {
    const result = await runFault(
      'rolling restart',
      env.kafka(),
      env.cluster.brokers,
      async ({ faultStarted }) => {
        faultStarted();
        for (const node of env.cluster.nodes) {
          await env.cluster.kill(node.id, 'SIGTERM');
          await env.cluster.start(node.id);
        }
      },
      { pauseMs: 400 },
    );
    figures.push(result);
  }, 600_000);

  it('loses and repeats nothing when a second instance is SIGKILLed while the group rebalances between the two', async () => {
    const result = await runFault(
      'second instance SIGKILLed during a rebalance',
      env.kafka(),
      env.cluster.brokers,
      killDuringRebalance(env.kafka()),
    );
    figures.push(result);
  }, 400_000);

  // Last: every broker goes down, which the other tests' figures should not include.
  it('the retrain publisher rebuilds a consumer kafkajs gave up on, reports not running meanwhile, then publishes a pending trigger once', async () => {
    const result = await publisherThroughOutage(env.cluster);
    console.log(
      `[fault] retrain publisher, every broker SIGKILLed: not running after ${result.notRunningAfterMs} ms, a pending trigger published ${result.publishedAfterMs} ms after the brokers were back, ${result.restarts} rebuild(s)`,
    );
  }, 700_000);

  it('prints the figures', () => {
    for (const f of figures)
      console.log(
        `[fault] ${f.name}: recovered in ${f.recoverMs} ms, peak lag ${f.peakLag}, RSS ${f.startRssMb} → peak ${f.peakRssMb} MiB, resent chunks ${f.resentChunks}`,
      );
    expect(figures.length, 'every fault test ran to its figures').toBe(3);
  });
});
