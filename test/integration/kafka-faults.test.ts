import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.js';
import { runFault, type FaultFigures } from '../support/faults.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// One three-node cluster shared by the broker faults (starting one costs about a minute on 2 cores).
// Skipped, open (issue 13): in the CI run of 2026-12-02 the leader kill ended with 8,200 of 8,232
// predictions stored (labels all there); whether the producer's retried sends or the consumer lost
// them is not found yet. A known data loss must not pass as green, nor block main while it is chased.
describe('a three-broker cluster under faults', () => {
  const env = useCluster(3);
  const figures: FaultFigures[] = [];

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
  }, 400_000);

  // Skipped, open: with the commit retry it ran to the end, but 34 predictions and 33 labels of
  // 8,232 were missing from ClickHouse (where they were lost, producer or consumer, is not found yet).
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

  it('prints the figures', () => {
    for (const f of figures)
      console.log(
        `[fault] ${f.name}: recovered in ${f.recoverMs} ms, peak lag ${f.peakLag}, peak RSS ${f.peakRssMb} MiB`,
      );
    expect(figures.length).toBe(2);
  });
});
