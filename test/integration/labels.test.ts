import { describe, expect, it } from 'vitest';
import { allMigrations } from '../support/migrations.js';
import { migrate, openDatabase } from '../../src/platform/clickhouse/index.js';
import { isolatedConfig, produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

/** Monday 2026-03-02 10:00 UTC. */
const H1 = Date.UTC(2026, 2, 2, 10);
const ids = Array.from({ length: 10 }, (_, i) => `p-${i}`);

async function rows<T>(service: TestService, query: string): Promise<T[]> {
  return service.rows<T>(query);
}

async function bucket(
  service: TestService,
  model: string,
): Promise<{ labeled: number; accuracy: number | null }> {
  const response = await service.get(`/api/v1/models/${model}/metrics?from=${H1}&to=${H1}&bucket=1h`);
  expect(response.status).toBe(200);
  const [first] = (response.body as { buckets: { labeled: number; accuracy: number | null }[] }).buckets;
  return { labeled: first?.labeled ?? -1, accuracy: first?.accuracy ?? null };
}

describe('labels keyed by model and prediction id', () => {
  it('apply to their own model only; a named label wins over an unnamed one', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    // Two models share the prediction ids p-0..p-9; every prediction is class 1.
    await produce(
      topics.predictions,
      ['alpha', 'beta'].flatMap((model) =>
        ids.map((id, i) => ({
          prediction_id: id,
          model_id: model,
          model_version: '1',
          timestamp: H1 + i,
          features: { x: i },
          prediction: 1,
          score: 0.9,
        })),
      ),
    );
    await produce(topics.labels, [
      // Unnamed: for any model with that id.
      ...ids.map((id) => ({ prediction_id: id, label: 0, timestamp: H1 + 1_000 })),
      // Named for alpha on half the ids; it wins there, even though it is older than the unnamed one.
      ...ids
        .slice(0, 5)
        .map((id) => ({ prediction_id: id, label: 1, timestamp: H1 + 500, model_id: 'alpha' })),
      // Named for a model that has no such predictions: applies to neither.
      ...ids
        .slice(5)
        .map((id) => ({ prediction_id: id, label: 1, timestamp: H1 + 2_000, model_id: 'gamma' })),
    ]);
    await waitFor('20 labels and 2 model versions', async () => {
      const [row] = await rows<{ labels: number; versions: number }>(
        service,
        'SELECT (SELECT count() FROM labels FINAL) AS labels, (SELECT count() FROM model_versions FINAL) AS versions',
      );
      return row?.labels === 20 && row.versions === 2 ? true : undefined;
    });

    // alpha: p-0..p-4 its own label 1 (correct), p-5..p-9 the unnamed 0 (wrong): 5/10.
    expect(await bucket(service, 'alpha')).toEqual({ labeled: 10, accuracy: 0.5 });
    // beta: only the unnamed labels apply, all 0: 0/10.
    expect(await bucket(service, 'beta')).toEqual({ labeled: 10, accuracy: 0 });
  });

  it('migration 4 keeps the labels already stored and is safe to run again', async () => {
    const config = isolatedConfig();
    const db = await openDatabase(config.clickhouse);
    try {
      await migrate(
        db,
        allMigrations.filter((m) => m.version < 4),
      );
      await db.client.command({
        query: `INSERT INTO labels (prediction_id, model_id, label, label_num, timestamp) VALUES
                ('a', '', 'yes', NULL, 1000), ('b', 'm1', '2.5', 2.5, 2000), ('a', '', 'corrected', NULL, 3000)`,
      });
      const report = await migrate(db, allMigrations);
      expect(report.applied.map((m) => m.version)).toContain(4);
      const read = async () => {
        const result = await db.client.query({
          query: `SELECT prediction_id, model_id, label, label_num, toUnixTimestamp64Milli(timestamp) AS t FROM labels FINAL ORDER BY prediction_id`,
          format: 'JSONEachRow',
        });
        return result.json();
      };
      const expected = [
        { prediction_id: 'a', model_id: '', label: 'corrected', label_num: null, t: 3000 },
        { prediction_id: 'b', model_id: 'm1', label: '2.5', label_num: 2.5, t: 2000 },
      ];
      expect(await read()).toEqual(expected);
      const tables = await db.client.query({
        query: `SELECT name, sorting_key FROM system.tables WHERE database = currentDatabase() AND name LIKE 'labels%' ORDER BY name`,
        format: 'JSONEachRow',
      });
      expect(await tables.json()).toEqual([{ name: 'labels', sorting_key: 'prediction_id, model_id' }]);

      // As after a crash before the migration was recorded: its statements run again, changing nothing.
      const four = allMigrations.find((m) => m.version === 4);
      expect(four).toBeDefined();
      const again = await migrate(db, [{ ...four!, version: 9_999 }]);
      expect(again.applied).toHaveLength(1);
      expect(await read()).toEqual(expected);
      expect((await migrate(db, allMigrations)).applied).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('migration 4 run by two instances at once: a second EXCHANGE swapping the tables back is undone, the keyed copy is never dropped', async () => {
    const config = isolatedConfig();
    const db = await openDatabase(config.clickhouse);
    try {
      await migrate(
        db,
        allMigrations.filter((m) => m.version < 4),
      );
      await db.client.command({
        query: `INSERT INTO labels (prediction_id, model_id, label, label_num, timestamp) VALUES
                ('a', 'm1', 'yes', NULL, 1000), ('b', 'm2', 'no', NULL, 2000)`,
      });
      // This instance's statements, with the other instance's EXCHANGE (its check came before
      // this one's EXCHANGE) right after this one's.
      const four = allMigrations.find((m) => m.version === 4)!;
      const raced = {
        ...four,
        statements: (ctx: Parameters<typeof four.statements>[0]) => {
          const own = four.statements(ctx);
          const exchange = own.findIndex((s) => typeof s !== 'string' && s.query.startsWith('EXCHANGE'));
          const other = 'EXCHANGE TABLES labels AND labels_keyed';
          return [...own.slice(0, exchange + 1), other, ...own.slice(exchange + 1)];
        },
      };
      await expect(migrate(db, [raced])).rejects.toThrow('another instance swapped it back');
      // The service retries; this time alone.
      expect((await migrate(db, allMigrations)).applied.map((m) => m.version)).toContain(4);
      const tables = await db.client.query({
        query: `SELECT name, sorting_key FROM system.tables WHERE database = currentDatabase() AND name LIKE 'labels%' ORDER BY name`,
        format: 'JSONEachRow',
      });
      expect(await tables.json()).toEqual([{ name: 'labels', sorting_key: 'prediction_id, model_id' }]);
      const stored = await db.client.query({
        query: 'SELECT prediction_id, model_id, label FROM labels FINAL ORDER BY prediction_id',
        format: 'JSONEachRow',
      });
      expect(await stored.json()).toEqual([
        { prediction_id: 'a', model_id: 'm1', label: 'yes' },
        { prediction_id: 'b', model_id: 'm2', label: 'no' },
      ]);
    } finally {
      await db.close();
    }
  });
});
