import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { expect, onTestFinished } from 'vitest';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import type { FaultContext } from './faults.js';
import { tempDir, waitFor } from './harness.js';

const cli = path.resolve('dist/cli/main.js');
const REBALANCING = ['PreparingRebalance', 'CompletingRebalance'];

/**
 * A second instance (`modelwatch serve`, a real process) joins the collectors' group; while the
 * group rebalances between the two, it is SIGKILLed: no LeaveGroup, no commit, sockets dropped.
 * The first instance must finish the rebalance without it and lose nothing. The second instance
 * has its own data directory: the embedded engine is one process's, and a member killed before
 * the rebalance completes is never assigned a partition, so it stores nothing (the exact counts
 * on the first instance's store would show it if it had).
 */
export function killDuringRebalance(kafka: Kafka) {
  return async ({ env, faultStarted }: FaultContext): Promise<void> => {
    expect(existsSync(cli), 'the CLI is built (npm run build)').toBe(true);
    const groupId = env['MODELWATCH_CONSUMER_GROUP'] ?? '';
    const child = spawn(process.execPath, [cli, 'serve'], {
      env: {
        ...process.env,
        ...env,
        MODELWATCH_DATA_DIR: tempDir(),
        MODELWATCH_API_PORT: String(await freePort()),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.resume();
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const admin = kafka.admin();
    await admin.connect();
    try {
      const state = await waitFor(
        'the second instance in the group',
        async () => {
          const { groups } = await admin.describeGroups([groupId]);
          const group = groups[0];
          return group && group.members.length >= 2 ? group.state : undefined;
        },
        120_000,
        // The rebalance lasts until the first member's next heartbeat (≤ 3 s) or less: polled
        // every 200 ms on a busy machine, the group was once Stable by the first look.
        20,
      );
      faultStarted();
      child.kill('SIGKILL');
      await exited;
      console.log(`[fault] second instance SIGKILLed with the group in state ${state}`);
      expect(REBALANCING, 'the group was rebalancing when the instance died').toContain(state);
      await waitFor(
        'the group stable with one member again',
        async () => {
          const { groups } = await admin.describeGroups([groupId]);
          const group = groups[0];
          return group?.state === 'Stable' && group.members.length === 1 ? true : undefined;
        },
        120_000,
      );
    } finally {
      await admin.disconnect();
    }
  };
}
