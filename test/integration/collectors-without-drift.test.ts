import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectors, createCollectorSink, createIngestMetrics } from '../../src/collectors/index.js';
import { ModelRegistry, models } from '../../src/models/index.js';
import { allMigrations } from '../../src/platform/capability/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { capabilities } from '../../src/service/index.js';
import { prediction } from '../support/events.js';

/**
 * The collectors write `predictions.tags` on every insert: their own migrations must create it,
 * for a service composed without drift (whose segment migration 26 creates it too).
 */

let dataDir: string;
let db: Database;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-no-drift-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'no_drift', dataDir });
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function store(event: Record<string, unknown>): Promise<void> {
  const sink = createCollectorSink({
    db,
    letters: undefined as never,
    models: new ModelRegistry(db),
    metrics: createIngestMetrics(new Registry()),
    topics: { predictions: 'p', labels: 'l', accessLog: 'a', deadLetter: 'dlq' },
    maxMessageBytes: 1_048_576,
    maxFutureSkewMs: Number.MAX_SAFE_INTEGER,
    maxFeatures: 1_000,
    maxFeatureNameLength: 256,
  });
  const message = { key: null, value: Buffer.from(JSON.stringify(event)), offset: '0' } as KafkaMessage;
  const decoded = sink.decode({ topic: 'p', partition: 0, offset: '0', message });
  expect(decoded.ok).toBe(true);
  await sink.write([decoded]);
}

async function tagsOf(id: string): Promise<unknown> {
  const result = await db.client.query({
    query: 'SELECT tags FROM predictions FINAL WHERE prediction_id = {id:String}',
    query_params: { id },
    format: 'JSONEachRow',
  });
  return (await result.json<{ tags: unknown }>())[0]?.tags;
}

describe('collectors without drift', () => {
  it('store a prediction with tags on their own migrations; drift migrating after, or again, changes nothing', async () => {
    await migrate(db, allMigrations([models, collectors]));
    await store(prediction(1, { tags: { region: 'north' } }));
    expect(await tagsOf('p-1')).toEqual({ region: 'north' });

    // Drift's migration 26 after ours; then ours again on a table that has the column.
    await migrate(db, allMigrations(capabilities));
    await db.client.command({ query: 'DELETE FROM schema_migrations WHERE version = 11' });
    expect((await migrate(db, allMigrations(capabilities))).applied.map((m) => m.version)).toEqual([11]);
    await store(prediction(2, { tags: { region: 'south' } }));
    expect([await tagsOf('p-1'), await tagsOf('p-2')]).toEqual([{ region: 'north' }, { region: 'south' }]);
  });
});
