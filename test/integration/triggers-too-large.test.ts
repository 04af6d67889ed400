import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { toPayload, type TriggerPayload } from '../../src/triggers/engine/trigger.js';
import { TriggerPublisher, TriggerStore } from '../../src/triggers/index.js';
import type { TrailEvent } from '../../src/triggers/publish/trail.js';
import { triggerMigrations } from '../../src/triggers/store/schema.js';
import { createTopics, testKafka, uniqueName, waitFor } from '../support/harness.js';
import { readTopic } from '../support/triggers.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);
/** The retrain topic's `max.message.bytes` in this test: the first trigger is larger. */
const MAX_MESSAGE_BYTES = 8_192;

/** A drift trigger of model `m` for hour `hour`, stored at T0 + hour (so the outbox sends it in that order). */
const trigger = (hour: number, evidenceBytes = 0): TriggerPayload =>
  toPayload(
    {
      modelId: 'm',
      version: '1',
      reason: 'drift',
      start: T0 + hour * HOUR,
      end: T0 + (hour + 1) * HOUR,
      evidence: { padding: 'x'.repeat(evidenceBytes) },
    },
    { drift: { columns: ['a'] } },
    T0 + hour,
  );

let db: Database;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-triggers-too-large-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'triggers_too_large', dataDir });
  await migrate(db, triggerMigrations);
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a trigger larger than the retrain topic takes', () => {
  it('is recorded as refused and not sent again, and the later triggers of its partition go out', async () => {
    const topic = uniqueName('retrain-too-large');
    await createTopics([
      {
        topic,
        numPartitions: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) }],
      },
    ]);
    const store = new TriggerStore(db);
    const [large, next, last] = [trigger(0, 4 * MAX_MESSAGE_BYTES), trigger(1), trigger(2)];
    await store.insert([large, next, last]);
    const logs: Record<string, unknown>[] = [];
    const publisher = new TriggerPublisher({
      kafka: testKafka(),
      store,
      topic,
      groupId: uniqueName('retrain-too-large-publisher'),
      logger: pino(
        { level: 'error' },
        { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
      ),
      sessionTimeoutMs: 6_000,
      intervalMs: 200,
      onPublished: () => undefined,
    });
    const refusals = () =>
      (publisher.diagnostics()['events'] as TrailEvent[]).filter((e) => e.event === 'refused as too large');
    await publisher.start();
    try {
      await waitFor('the later triggers delivered', async () => {
        const listed = await store.list({ modelId: 'm', limit: 10 });
        return listed.filter((t) => t.published).length === 2 ? true : undefined;
      });
      // More passes: a publisher that retried the refused trigger would have sent it again by now.
      for (let pass = 0; pass < 3; pass++) await publisher.kick();
      expect(refusals()).toHaveLength(1);
      expect(await store.pending()).toEqual([]);
      const [refused, ...delivered] = await store.list({ modelId: 'm', limit: 10 });
      expect(refused).toMatchObject({ trigger_id: large.trigger_id, published: false });
      expect(refused!.refused!.error).toMatch(/too large|larger/i);
      expect(refused!.refused!.bytes).toBeGreaterThan(4 * MAX_MESSAGE_BYTES);
      expect(delivered.map((t) => [t.trigger_id, t.published, 'refused' in t])).toEqual([
        [next.trigger_id, true, false],
        [last.trigger_id, true, false],
      ]);
      expect(logs).toEqual([
        expect.objectContaining({ level: 50, trigger: large.trigger_id, model: 'm', partition: 0 }),
      ]);
    } finally {
      await publisher.stop();
    }
    const onTopic = (await readTopic(topic)).map((m) => m.value['trigger_id']);
    expect(onTopic).toEqual([next.trigger_id, last.trigger_id]);
  }, 120_000);
});
