import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRows } from '../../src/inference/encode-rows.js';
import { InferenceCore } from '../../src/inference/index.js';
import { ArtifactStore, ModelRegistry } from '../../src/models/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { batchQuery } from '../../src/shadow/feed-sql.js';
import { createShadowFeed, type ShadowFeed } from '../../src/shadow/feed.js';
import { SHADOW_SCORES_STRUCTURE } from '../../src/shadow/schema.js';
import { ShadowScorer } from '../../src/shadow/scorer.js';
import { createShadowMetrics } from '../../src/shadow/shadow-metrics.js';
import { encodeShadowRows, readStoredBatch } from '../../src/shadow/stored-batch.js';
import { waitFor } from '../support/harness.js';
import { allMigrations } from '../support/migrations.js';
import { linearClassifierOnnx } from '../support/onnx-linear.js';
import { registerSyntheticChallenger } from '../support/registry.js';

/**
 * The shadow feed over stored predictions on the embedded engine (no broker: the feed reads
 * `predictions`, whoever wrote it): the engine's reading of features, the RowBinary round
 * trip, and effectively-once scoring across a restart, a rewound cursor and an insert that is
 * still running while the feed reads.
 */

const F = 10;
let db: Database;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-shadow-feed-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'shadow_feed', dataDir });
  await migrate(db, allMigrations);
}, 120_000);
afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const features = (i: number) =>
  Object.fromEntries(Array.from({ length: F }, (_, f) => [`f${f}`, ((i * 31 + f * 7) % 200) / 50 - 2]));

async function insertPredictions(
  model: string,
  first: number,
  count: number,
  extra: object = {},
): Promise<void> {
  await db.client.insert({
    table: 'predictions',
    format: 'JSONEachRow',
    values: Array.from({ length: count }, (_, k) => ({
      model_id: model,
      model_version: '1',
      prediction_id: `p-${first + k}`,
      timestamp: Date.UTC(2026, 0, 1) + (first + k) * 1000,
      features_num: features(first + k),
      features_str: {},
      prediction: String((first + k) % 2),
      score: ((first + k) % 100) / 100,
      ...extra,
    })),
  });
}

async function count(sql: string): Promise<number> {
  const result = await db.client.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n);
}

describe('the batch query and the RowBinary round trip', () => {
  it('reads values, categories and refusals as the core would, and stores hostile text unchanged', async () => {
    const odd = "we'ird\\name\twith\ttabs";
    const rows = [
      { id: 'ok', num: { [odd]: 1.5 }, str: { region: "s'w" } },
      { id: 'unknown-category', num: { [odd]: 2 }, str: { region: 'north' } },
      { id: 'missing', num: {}, str: { region: 'n\\e' } },
      { id: 'string-for-number', num: {}, str: { [odd]: '1.5', region: 'n\\e' } },
      { id: 'number-for-category', num: { [odd]: 3, region: 1 }, str: {} },
      { id: 'true-for-number', num: {}, str: { [odd]: 'true', region: 'n\\e' } },
      { id: 'tab\tnew\nline\\ "quoted" é', num: { [odd]: 1e39 }, str: { region: 'n\\e' } },
      { id: 'near-float32-max', num: { [odd]: -3.4e38 }, str: { region: 'n\\e' } },
      { id: 'beyond-float32', num: { [odd]: -3.5e38 }, str: { region: 'n\\e' } },
      { id: 'false-for-number', num: {}, str: { [odd]: 'false', region: "s'w" } },
    ];
    await db.client.insert({
      table: 'predictions',
      format: 'JSONEachRow',
      values: rows.map((r, i) => ({
        model_id: 'q',
        model_version: 'v\t1',
        prediction_id: r.id,
        timestamp: Date.UTC(2026, 0, 1) + i,
        features_num: r.num,
        features_str: r.str,
        prediction: 'cl\tass',
        score: i === 0 ? null : i / 10,
      })),
    });
    const columns = [
      { name: odd, type: 'number' as const },
      { name: 'region', type: 'string' as const, categories: ['n\\e', "s'w"] },
    ];
    // In event time order, as the rows list them.
    const result = await db.client.exec({
      query: batchQuery(columns).replace('FORMAT RowBinary', 'ORDER BY p.timestamp FORMAT RowBinary'),
      query_params: { model: 'q', version: '2', lo: 0, hi: Date.now() + 60_000, limit: 100 },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    const batch = readStoredBatch(Buffer.concat(chunks), 2);
    expect(batch.rows).toBe(rows.length);
    const value = (r: number) => [batch.values[2 * r], batch.values[2 * r + 1]];
    expect([0, 1, 5, 6, 7, 9].map(value)).toEqual([
      [1.5, 1],
      [2, -1],
      [1, 0],
      [Number.POSITIVE_INFINITY, 0],
      [Math.fround(-3.4e38), 0],
      [0, 1],
    ]);
    // Beyond float32 is the core's out_of_range (its Float32, ±Infinity, would read as not_finite).
    expect([...batch.refused]).toEqual([
      [2, 'missing'],
      [3, 'wrong_type'],
      [4, 'wrong_type'],
      [6, 'out_of_range'],
      [8, 'out_of_range'],
    ]);
    // The core's object path reads the events rows 5, 9 and 3 were stored from as the query does:
    // a boolean as 1/0 (stored 'true'/'false'), a numeric string refused.
    const events = [
      { [odd]: true, region: 'n\\e' },
      { [odd]: false, region: "s'w" },
      { [odd]: '1.5', region: 'n\\e' },
    ];
    const objects = encodeRows(events, columns);
    expect([[...objects.values.subarray(0, 4)], objects.failures.map((f) => [f.row, f.reason])]).toEqual([
      [...value(5), ...value(9)],
      [[2, 'wrong_type']],
    ]);

    const label = 'la\tbel\n\\"';
    const body = encodeShadowRows(
      batch,
      { labels: rows.map(() => label), scores: rows.map((_, i) => i / 4), failed: new Map([[2, 'missing']]) },
      Date.UTC(2026, 11, 2),
    );
    await db.insertJsonEachRow('shadow_scores', body, {
      structure: SHADOW_SCORES_STRUCTURE,
      format: 'RowBinary',
    });
    const stored = await (
      await db.client.query({
        query: `SELECT challenger_version, prediction_id, production_version, production_prediction, production_score,
                  label, score, failed, failure, toUnixTimestamp64Milli(scored_at) AS scored_at
                FROM shadow_scores FINAL WHERE model_id = 'q' ORDER BY timestamp`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, unknown>>();
    expect(stored.map((s) => s['prediction_id'])).toEqual(rows.map((r) => r.id));
    expect(stored[0]).toEqual({
      challenger_version: '2',
      prediction_id: 'ok',
      production_version: 'v\t1',
      production_prediction: 'cl\tass',
      production_score: null,
      label,
      score: 0,
      failed: false,
      failure: '',
      scored_at: Date.UTC(2026, 11, 2),
    });
    expect([
      stored[2]?.['failed'],
      stored[2]?.['failure'],
      stored[2]?.['label'],
      stored[2]?.['score'],
    ]).toEqual([true, 'missing', '', null]);
    expect(stored[6]?.['production_score']).toBe(0.6);
  });
});

describe('effectively once across restarts', () => {
  const core = new InferenceCore();
  afterAll(() => core.close());

  function feed(): ShadowFeed {
    const registry = new ModelRegistry(db);
    const scorer = new ShadowScorer({
      core,
      artifacts: new ArtifactStore(db),
      metrics: createShadowMetrics(new Registry()),
      logger: createLogger('silent'),
    });
    return createShadowFeed({
      db,
      registry,
      scorer,
      logger: createLogger('silent'),
      idleMs: 20,
      maxRows: 500,
    });
  }

  it('scores every stored prediction once after a stop, a rewound cursor and a slow concurrent insert', async () => {
    await registerSyntheticChallenger(db, 'm');
    for (let k = 0; k < 4; k++) await insertPredictions('m', k * 500, 500);

    const first = feed();
    await first.start();
    await waitFor('a first batch stored', async () =>
      (await count(`SELECT count() AS n FROM shadow_scores WHERE model_id = 'm'`)) >= 500 ? true : undefined,
    );
    await first.stop();

    // A crash after the scores were stored but before the cursor moved: the cursor is behind.
    await db.client.insert({
      table: 'shadow_progress',
      format: 'JSONEachRow',
      values: [{ model_id: 'm', challenger_version: '2', ingested_to: 0, updated_at: Date.now() }],
    });
    const restarted = Date.now();
    const second = feed();
    await second.start();
    await waitFor('the first 2,000 rescored', async () =>
      (await count(
        `SELECT countIf(scored_at >= fromUnixTimestamp64Milli(${restarted})) AS n FROM shadow_scores FINAL WHERE model_id = 'm'`,
      )) === 2000
        ? true
        : undefined,
    );
    // An insert that runs for about 3 s: its rows carry its start time as `ingested_at`, and
    // faster inserts commit after that time while it still runs. The feed must not move past it.
    const slow = db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction, score)
        SELECT 'm', '1', concat('slow-', toString(number)), toDateTime64('2026-01-02 00:00:00', 3, 'UTC') + number,
          mapFromArrays(['f0','f1','f2','f3','f4','f5','f6','f7','f8','f9'], arrayMap(f -> f / 10, range(10))), '1', 0.5
        FROM numbers(60) WHERE sleepEachRow(0.05) = 0 SETTINGS max_block_size = 1`,
    });
    for (let k = 4; k < 8; k++) {
      await insertPredictions('m', k * 500, 500);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await slow;
    const total = 8 * 500 + 60;
    await waitFor(
      'every prediction scored',
      async () =>
        (await count(`SELECT uniqExact(prediction_id) AS n FROM shadow_scores WHERE model_id = 'm'`)) ===
        total
          ? true
          : undefined,
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await second.stop();

    expect(await count(`SELECT count() AS n FROM shadow_scores FINAL WHERE model_id = 'm'`)).toBe(total);
    expect(
      await count(`SELECT count() AS n FROM predictions WHERE model_id = 'm'
        AND prediction_id NOT IN (SELECT prediction_id FROM shadow_scores WHERE model_id = 'm' AND NOT failed)`),
    ).toBe(0);
    // Only model m's predictions were scored by m's challenger (model q's rows sit in the same range).
    expect(
      await count(`SELECT count() AS n FROM shadow_scores WHERE model_id = 'm'
        AND prediction_id NOT IN (SELECT prediction_id FROM predictions WHERE model_id = 'm')`),
    ).toBe(0);
    // The rewound cursor rescored what the first run stored (the later score replaced it).
    expect(
      await count(
        `SELECT toUnixTimestamp64Milli(min(scored_at)) AS n FROM shadow_scores FINAL WHERE model_id = 'm'`,
      ),
    ).toBeGreaterThanOrEqual(restarted);
    const [slowIngested] = await (
      await db.client.query({
        query: `SELECT toUnixTimestamp64Milli(min(ingested_at)) AS slow,
          (SELECT toUnixTimestamp64Milli(max(ingested_at)) FROM predictions WHERE model_id = 'm' AND prediction_id = 'p-3500') AS fast
          FROM predictions WHERE prediction_id LIKE 'slow-%'`,
        format: 'JSONEachRow',
      })
    ).json<{ slow: number; fast: number }>();
    // Not vacuous: the slow insert's rows are older than rows committed before it. Compared with
    // the last fast insert (p-3500, ≥ 450 ms after the slow one began): the first, sent at the same
    // moment, once started 1 ms before it (CI, 2026-12-04) and made this check fail.
    expect(Number(slowIngested?.slow)).toBeLessThan(Number(slowIngested?.fast));
  }, 120_000);
});

describe('a wide challenger, and an artifact read that fails for a while', () => {
  const core = new InferenceCore();
  afterAll(() => core.close());
  const WIDE = 1_500;
  // Long-ish names: the batch query writes each one out five times.
  const names = Array.from({ length: WIDE }, (_, f) => `a_fairly_long_feature_name_${f}`);

  /** A linear challenger of `names`: class 1 exactly when the first feature is positive. */
  async function registerWide(): Promise<void> {
    const bytes = linearClassifierOnnx({ weights: names.map((_, f) => (f === 0 ? 4 : 0)), bias: 0 });
    const sha = createHash('sha256').update(bytes).digest('hex');
    await new ArtifactStore(db).put('wide', '2', sha, bytes.toString('base64'));
    await new ModelRegistry(db).register({
      modelId: 'wide',
      version: '2',
      task: 'binary_classification',
      positiveClass: '1',
      stage: 'shadow',
      artifactSha256: sha,
      trainingDataUri: 'test://wide',
      trainingDataSha256: '0'.repeat(64),
      featureSchema: JSON.stringify({
        task: 'binary_classification',
        classes: ['0', '1'],
        positive_class: '1',
        features: names.map((name) => ({ name, type: 'number' })),
      }),
    });
  }

  it('scores a challenger whose batch query is over the default max_query_size, and retries a failed artifact read', async () => {
    const columns = names.map((name) => ({ name, type: 'number' as const }));
    // Not vacuous: the query is over ClickHouse's default limit (262,144 bytes).
    expect(Buffer.byteLength(batchQuery(columns))).toBeGreaterThan(262_144);
    await registerWide();
    await registerSyntheticChallenger(db, 'flaky');
    const N = 200;
    await db.client.insert({
      table: 'predictions',
      format: 'JSONEachRow',
      values: Array.from({ length: N }, (_, i) => ({
        model_id: 'wide',
        model_version: '1',
        prediction_id: `w-${i}`,
        timestamp: Date.UTC(2026, 0, 1) + i * 1000,
        features_num: Object.fromEntries(names.map((n, f) => [n, f === 0 ? (i % 2 ? 1 : -1) : f / WIDE])),
        features_str: {},
        prediction: String(i % 2),
        score: 0.5,
      })),
    });
    await insertPredictions('flaky', 0, N);

    // The first two reads of the flaky challenger's artifact fail as a ClickHouse error would.
    const store = new ArtifactStore(db);
    let refused = 0;
    const artifacts = {
      get: (model: string, version: string, sha: string) =>
        model === 'flaky' && refused < 2
          ? Promise.reject(new Error(`Code: 241. DB::Exception: Memory limit exceeded (${(refused += 1)})`))
          : store.get(model, version, sha),
    } as unknown as ArtifactStore;
    const scorer = new ShadowScorer({
      core,
      artifacts,
      metrics: createShadowMetrics(new Registry()),
      logger: createLogger('silent'),
    });
    const feed = createShadowFeed({
      db,
      registry: new ModelRegistry(db),
      scorer,
      logger: createLogger('silent'),
      idleMs: 20,
    });
    await feed.start();
    try {
      await waitFor(
        'both challengers scored every prediction',
        async () =>
          (await count(
            `SELECT count() AS n FROM shadow_scores FINAL WHERE model_id IN ('wide', 'flaky')`,
          )) ===
          2 * N
            ? true
            : undefined,
        60_000,
      );
      expect(feed.degraded).toBe(false);
    } finally {
      await feed.stop();
    }
    expect(refused).toBe(2);
    const stored = await (
      await db.client.query({
        query: `SELECT model_id, countIf(failed) AS failed_n, countIf(NOT failed) AS scored_n,
                  countIf(NOT failed AND label = if(toInt32(substring(prediction_id, 3)) % 2 = 1, '1', '0')) AS expected_n
                FROM shadow_scores FINAL WHERE model_id IN ('wide', 'flaky') GROUP BY model_id ORDER BY model_id`,
        format: 'JSONEachRow',
      })
    ).json<{ model_id: string; failed_n: number; scored_n: number; expected_n: number }>();
    // Every row scored, none failed; the wide challenger saw its first feature in place (label = its sign).
    expect(stored.map((s) => [s.model_id, Number(s.failed_n), Number(s.scored_n)])).toEqual([
      ['flaky', 0, N],
      ['wide', 0, N],
    ]);
    expect(Number(stored.find((s) => s.model_id === 'wide')?.expected_n)).toBe(N);
  }, 120_000);
});

describe('the scored counter', () => {
  const core = new InferenceCore();
  afterAll(() => core.close());

  /** Runs a feed reading through `feedDb` until `done`; the counters' values for `model`, by metric and reason. */
  async function countersAfterFeed(
    model: string,
    feedDb: Database,
    done: () => Promise<true | undefined>,
  ): Promise<Record<string, number>> {
    const registry = new Registry();
    const feed = createShadowFeed({
      db: feedDb,
      registry: new ModelRegistry(db),
      scorer: new ShadowScorer({
        core,
        artifacts: new ArtifactStore(db),
        metrics: createShadowMetrics(registry),
        logger: createLogger('silent'),
      }),
      logger: createLogger('silent'),
      idleMs: 20,
    });
    await feed.start();
    try {
      await waitFor('the batch stored and its cursor saved', done);
    } finally {
      await feed.stop();
    }
    const counted: Record<string, number> = {};
    for (const name of ['modelwatch_shadow_scored_total', 'modelwatch_shadow_failures_total'])
      for (const v of (await registry.getSingleMetric(name)?.get())?.values ?? [])
        if (v.labels['model'] === model) counted[[name, v.labels['reason']].join(' ').trim()] = v.value;
    return counted;
  }

  const everyScoreStored = (model: string, n: number) => async () =>
    (await count(`SELECT count() AS n FROM shadow_scores FINAL WHERE model_id = '${model}'`)) === n
      ? (true as const)
      : undefined;

  it('counts a batch once its scores are stored: a batch whose store failed is counted when scored again', async () => {
    await registerSyntheticChallenger(db, 'counted');
    const N = 300;
    await insertPredictions('counted', 0, N);
    // The first store of shadow scores fails as a ClickHouse timeout would; the batch is scored again.
    let refusals = 0;
    const flaky = Object.create(db) as Database;
    flaky.insertJsonEachRow = (table, ...rest) =>
      table === 'shadow_scores' && refusals++ === 0
        ? Promise.reject(new Error('Timeout error.'))
        : db.insertJsonEachRow(table, ...rest);
    const counted = await countersAfterFeed('counted', flaky, everyScoreStored('counted', N));
    expect(refusals).toBeGreaterThan(1);
    expect(counted).toEqual({ modelwatch_shadow_scored_total: N });
  }, 60_000);

  it('counts a batch once when its scores were stored but its cursor save failed', async () => {
    await registerSyntheticChallenger(db, 'saved');
    const N = 300;
    const MISSING = 20;
    await insertPredictions('saved', 0, N);
    await insertPredictions('saved', N, MISSING, { features_num: {} });
    // The first cursor save fails after the scores were stored; the pass scores the batch again.
    let refusals = 0;
    let saved = false;
    const client = new Proxy(db.client, {
      get(target, property, receiver): unknown {
        if (property !== 'insert') return Reflect.get(target, property, receiver);
        return async (params: Parameters<typeof target.insert>[0]) => {
          // Other challengers of this file's database are still registered: only this one's saves.
          const values = params.values as { model_id?: string }[];
          if (params.table !== 'shadow_slot_progress' || values[0]?.model_id !== 'saved')
            return target.insert(params);
          if (refusals++ === 0) throw new Error('Timeout error.');
          const result = await target.insert(params);
          saved = true;
          return result;
        };
      },
    });
    const flaky = Object.create(db, { client: { value: client } }) as Database;
    const stored = everyScoreStored('saved', N + MISSING);
    const counted = await countersAfterFeed('saved', flaky, async () => (saved ? stored() : undefined));
    expect(refusals).toBeGreaterThan(1);
    expect(counted).toEqual({
      modelwatch_shadow_scored_total: N,
      'modelwatch_shadow_failures_total missing': MISSING,
    });
  }, 60_000);
});
