import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeModelMetrics, type MetricsRequest } from '../../src/metrics/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { allMigrations } from '../support/migrations.js';

/**
 * The bucket cache (issue 17) on a real engine: which reads it answers, and that each kind of
 * change recomputes the buckets it touched (and only those, where it can tell) and gives the
 * raw path's answer.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4, 10);
const MODEL = 'cached';
const VERSIONS: MetricsRequest['versions'] = [
  { model_version: 'v1', task: 'binary_classification', positive_class: '1' },
];

const prediction = (id: string, hour: number, fields: Record<string, unknown> = {}) => ({
  model_id: MODEL,
  model_version: 'v1',
  prediction_id: id,
  timestamp: new Date(T0 + hour * HOUR + 60_000).toISOString(),
  prediction: '1',
  prediction_num: 1,
  score: 0.2 + hour / 10,
  latency_ms: 10 + hour,
  is_error: false,
  ...fields,
});

const label = (id: string, value: string, at: number) => ({
  prediction_id: id,
  model_id: MODEL,
  label: value,
  label_num: Number(value),
  timestamp: new Date(at).toISOString(),
});

describe('metrics bucket cache (embedded engine)', () => {
  let db: Database;
  let dataDir: string;

  const insert = (table: string, rows: object[]) =>
    db.insertJsonEachRow(table, Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')));

  /** The cached read, its cache figures, and the raw path's answer. */
  async function read(overrides: Partial<MetricsRequest> = {}) {
    const request = {
      model: MODEL,
      versions: VERSIONS,
      bucket: '1h',
      from: T0,
      to: T0 + 4 * HOUR,
      ...overrides,
    };
    let stats = { hits: -1, computed: -1 };
    const cached = await computeModelMetrics(db, { ...request, onCache: (s) => (stats = s) });
    const raw = await computeModelMetrics(db, { ...request, path: 'raw' });
    expect(cached).toEqual(raw);
    return { buckets: cached.buckets, stats };
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-metrics-cache-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'metrics_cache', dataDir });
    await migrate(db, allMigrations);
    await insert('predictions', [
      prediction('a', 0),
      prediction('b', 0, { prediction: '0', score: 0.9 }),
      prediction('c', 1),
      prediction('d', 2),
    ]);
    await insert('labels', [label('a', '1', T0 + 10 * HOUR), label('b', '1', T0 + 10 * HOUR)]);
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('computes every bucket once, then answers unchanged buckets from the cache', async () => {
    expect((await read()).stats).toEqual({ hits: 0, computed: 3 });
    const again = await read();
    expect(again.stats).toEqual({ hits: 3, computed: 0 });
    expect(again.buckets.map((b) => [b.count, b.labeled])).toEqual([
      [2, 2],
      [1, 0],
      [1, 0],
    ]);
  });

  it('a label arriving weeks late recomputes its bucket only, on the next read', async () => {
    await insert('labels', [label('c', '0', T0 + 30 * 24 * HOUR)]);
    const { buckets, stats } = await read();
    expect(stats).toEqual({ hits: 2, computed: 1 });
    expect(buckets[1]?.labeled).toBe(1);
    expect((await read()).stats).toEqual({ hits: 3, computed: 0 });
  });

  it('a corrected label and a redelivered, corrected prediction recompute their buckets', async () => {
    await insert('labels', [label('c', '1', T0 + 31 * 24 * HOUR)]);
    expect((await read()).stats).toEqual({ hits: 2, computed: 1 });
    // The same key again with another latency: the last insert wins under FINAL.
    await insert('predictions', [prediction('d', 2, { latency_ms: 500 })]);
    const { buckets, stats } = await read();
    expect(stats).toEqual({ hits: 2, computed: 1 });
    expect([buckets[2]?.count, buckets[2]?.latency_ms.max]).toEqual([1, 500]);
  });

  it('a range cutting a bucket computes that bucket every time and never caches it', async () => {
    const partial = { from: T0 + 30_000, to: T0 + 3 * HOUR };
    expect((await read(partial)).stats).toEqual({ hits: 2, computed: 1 });
    expect((await read(partial)).stats).toEqual({ hits: 2, computed: 1 });
    // The whole bucket's cached row is still the whole bucket's.
    expect((await read()).stats).toEqual({ hits: 3, computed: 0 });
  });

  it('a changed positive class is computed anew (the query differs), not read from the cache', async () => {
    const versions = [{ ...VERSIONS[0]!, positive_class: '0' }];
    const { buckets, stats } = await read({ versions });
    expect(stats).toEqual({ hits: 0, computed: 3 });
    expect(buckets[0]?.positive_rate).toBe(0.5);
    expect((await read({ versions })).stats).toEqual({ hits: 3, computed: 0 });
    // One entry per version and bucket: the other positive class is computed again.
    expect((await read()).stats).toEqual({ hits: 0, computed: 3 });
  });

  it('a delete (retention) recomputes every bucket; the deleted rows are gone from the answer', async () => {
    await db.client.command({
      query: `ALTER TABLE predictions DELETE WHERE model_id = {model:String} AND prediction_id = 'd'`,
      query_params: { model: MODEL },
      clickhouse_settings: { mutations_sync: '2' },
    });
    const { buckets, stats } = await read();
    expect(stats).toEqual({ hits: 0, computed: 3 });
    expect(buckets).toHaveLength(2);
    // The emptied bucket is cached as empty.
    expect((await read()).stats).toEqual({ hits: 3, computed: 0 });
  });

  it('other models and other bucket sizes have their own entries', async () => {
    await insert('predictions', [{ ...prediction('a', 0), model_id: 'other' }]);
    expect((await read()).stats).toEqual({ hits: 3, computed: 0 });
    expect((await read({ bucket: '60m' })).stats).toEqual({ hits: 3, computed: 0 });
    expect((await read({ bucket: '2h' })).stats).toEqual({ hits: 0, computed: 2 });
    expect((await read({ bucket: '2h' })).stats).toEqual({ hits: 2, computed: 0 });
  });

  it('a late label minutes after a bulk load of 150,000 labels recomputes its own bucket only', async () => {
    // The sweep looks again at the labels of the last minutes (its margin), the bulk load's
    // included: it must find them already joined and write nothing, not rewrite them all.
    const rows = 150_000;
    const hours = 48;
    const bulk = (i: number) => ({ ...prediction(`bulk-${i}`, i % hours), model_id: 'bulk' });
    await insert(
      'predictions',
      Array.from({ length: rows }, (_, i) => bulk(i)),
    );
    await insert(
      'labels',
      Array.from({ length: rows - 1 }, (_, i) => ({
        ...label(`bulk-${i}`, String(i % 2), T0 + 50 * HOUR),
        model_id: 'bulk',
      })),
    );
    const request = { model: 'bulk', versions: VERSIONS, bucket: '1h', from: T0, to: T0 + hours * HOUR };
    const cachedRead = async () => {
      let stats = { hits: -1, computed: -1 };
      const answer = await computeModelMetrics(db, { ...request, onCache: (s) => (stats = s) });
      return { answer, stats };
    };
    expect((await cachedRead()).stats).toEqual({ hits: 0, computed: hours });
    const last = rows - 1;
    await insert('labels', [{ ...label(`bulk-${last}`, '1', T0 + 51 * HOUR), model_id: 'bulk' }]);
    const { answer, stats } = await cachedRead();
    expect(stats).toEqual({ hits: hours - 1, computed: 1 });
    expect(answer).toEqual(await computeModelMetrics(db, { ...request, path: 'raw' }));
    expect(answer.buckets.reduce((sum, b) => sum + b.labeled, 0)).toBe(rows);
  }, 120_000);

  it('reads racing inserts leave no stale entry: the next read equals the raw path', async () => {
    const versions = VERSIONS;
    const request = { model: 'racing', versions, bucket: '1h', from: T0, to: T0 + 6 * HOUR };
    let hits = 0;
    for (let i = 0; i < 12; i++) {
      const hour = i % 6;
      const rows = [{ ...prediction(`r${i}`, hour, { latency_ms: i }), model_id: 'racing' }];
      const labels = [{ ...label(`r${i - 1}`, String(i % 2), T0 + 48 * HOUR + i), model_id: 'racing' }];
      // The insert and a cached read in flight together, the read's result not checked here.
      await Promise.all([
        insert('predictions', rows),
        insert('labels', labels),
        computeModelMetrics(db, request),
        computeModelMetrics(db, request),
      ]);
      const raw = await computeModelMetrics(db, { ...request, path: 'raw' });
      const cached = await computeModelMetrics(db, { ...request, onCache: (s) => (hits += s.hits) });
      expect(cached, `after insert ${i}`).toEqual(raw);
    }
    expect(hits).toBeGreaterThan(0);
  });
});
