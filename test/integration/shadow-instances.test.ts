import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../../src/inference/index.js';
import { ArtifactStore, ModelRegistry } from '../../src/models/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { createShadowFeed, type ShadowFeed } from '../../src/shadow/feed.js';
import { ShadowScorer } from '../../src/shadow/scorer.js';
import { createShadowMetrics } from '../../src/shadow/shadow-metrics.js';
import { waitFor } from '../support/harness.js';
import { allMigrations } from '../support/migrations.js';
import { registerSyntheticChallenger } from '../support/registry.js';

/**
 * Two shadow feeds on one ClickHouse, as two service instances would run (each its own core,
 * scorer and metrics; they share only the tables): the work is split by the leases on the
 * challenger's slots, every prediction is scored, and a stopped instance's slots are taken over.
 * One process, because the embedded engine is one per process: the instances coordinate only
 * through `shadow_leases` and `shadow_slot_progress`, as separate processes on a server would.
 */

const F = 10;
let db: Database;
let dataDir: string;
const cores: InferenceCore[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-shadow-instances-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'shadow_instances', dataDir });
  await migrate(db, allMigrations);
}, 120_000);
afterAll(async () => {
  for (const core of cores) await core.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function insertPredictions(first: number, count: number): Promise<void> {
  await db.client.insert({
    table: 'predictions',
    format: 'JSONEachRow',
    values: Array.from({ length: count }, (_, k) => ({
      model_id: 'm',
      model_version: '1',
      prediction_id: `p-${first + k}`,
      timestamp: Date.UTC(2026, 0, 1) + (first + k) * 1000,
      features_num: Object.fromEntries(
        Array.from({ length: F }, (_, f) => [`f${f}`, (((first + k) * 31 + f * 7) % 200) / 50 - 2]),
      ),
      features_str: {},
      prediction: String((first + k) % 2),
      score: 0.5,
    })),
  });
}

async function count(sql: string): Promise<number> {
  const [row] = await (await db.client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(row?.n);
}

interface Instance {
  feed: ShadowFeed;
  /** Rows this instance scored (its own `modelwatch_shadow_scored_total`). */
  scored(): Promise<number>;
}

function instance(holder: string): Instance {
  const core = new InferenceCore();
  cores.push(core);
  const registry = new Registry();
  const scorer = new ShadowScorer({
    core,
    artifacts: new ArtifactStore(db),
    metrics: createShadowMetrics(registry),
    logger: createLogger('silent'),
  });
  const feed = createShadowFeed({
    db,
    registry: new ModelRegistry(db),
    scorer,
    logger: createLogger('silent'),
    idleMs: 50,
    maxRows: 400,
    leases: { holder, ttlMs: 1_500, settleMs: 100 },
  });
  return {
    feed,
    async scored() {
      const metric = await registry.getSingleMetric('modelwatch_shadow_scored_total')?.get();
      return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
    },
  };
}

/** Each holder's number of owned slots (earliest unexpired claim per slot). */
async function owned(): Promise<Record<string, number>> {
  const rows = await (
    await db.client.query({
      query: `SELECT holder, count() AS n FROM (
          SELECT slot, argMin(holder, (taken_at, holder)) AS holder FROM shadow_leases FINAL
          WHERE slot < 4 AND expires_at > now64(3) GROUP BY slot)
        GROUP BY holder ORDER BY holder`,
      format: 'JSONEachRow',
    })
  ).json<{ holder: string; n: string }>();
  return Object.fromEntries(rows.map((r) => [r.holder, Number(r.n)]));
}

describe('two instances share a challenger', () => {
  it('split the slots, score every prediction once between them, and one takes over when the other stops', async () => {
    await registerSyntheticChallenger(db, 'm');
    const a = instance('a');
    const b = instance('b');
    await a.feed.start();
    await waitFor('a holds every slot', async () => ((await owned())['a'] === 4 ? true : undefined));
    await b.feed.start();
    // a gives two slots back at its next renewal, and b claims them at its own.
    await waitFor('the slots split two and two', async () => {
      const o = await owned();
      return o['a'] === 2 && o['b'] === 2 ? true : undefined;
    });

    for (let k = 0; k < 8; k++) {
      await insertPredictions(k * 500, 500);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor(
      'the first 4,000 scored',
      async () =>
        (await count(`SELECT uniqExact(prediction_id) AS n FROM shadow_scores WHERE NOT failed`)) === 4000
          ? true
          : undefined,
      60_000,
    );
    const [byA, byB] = [await a.scored(), await b.scored()];
    // Measured split, for the closing note.
    process.stdout.write(`shadow instances: a scored ${byA}, b scored ${byB} of 4000\n`);
    // Each scored about half (the hash of the id decides the slot), and no row twice.
    expect(byA + byB).toBe(4000);
    expect(byA).toBeGreaterThan(1200);
    expect(byB).toBeGreaterThan(1200);

    await b.feed.stop();
    for (let k = 8; k < 12; k++) await insertPredictions(k * 500, 500);
    await waitFor(
      'a scored what b left',
      async () =>
        (await count(`SELECT uniqExact(prediction_id) AS n FROM shadow_scores WHERE NOT failed`)) === 6000
          ? true
          : undefined,
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await a.feed.stop();
    expect(await b.scored()).toBe(byB);
    expect(await a.scored()).toBe(byA + 2000);
    expect(await count(`SELECT count() AS n FROM shadow_scores FINAL`)).toBe(6000);
    expect(
      await count(`SELECT count() AS n FROM predictions
        WHERE prediction_id NOT IN (SELECT prediction_id FROM shadow_scores WHERE NOT failed)`),
    ).toBe(0);
  }, 120_000);
});
