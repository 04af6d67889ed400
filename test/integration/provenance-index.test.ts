import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREDICTIONS_BY_ID_SQL, auditMigrations, readProvenance } from '../../src/audit/index.js';
import { collectorMigrations } from '../../src/collectors/schema.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { shadowMigrations } from '../../src/shadow/schema.js';
import { waitForMutations } from '../support/mutations.js';

/**
 * The bloom-filter index on predictions.prediction_id (collectors' migration 7): it exists, it is
 * built for parts written before the migration, the provenance lookup uses it (few granules read
 * out of many) and still answers the right rows. The upgrade also crosses migration 10, whose
 * rewrite of the feature maps left the filter excluding nothing until it was rebuilt (the
 * granule count below fails without that). N rows, 300,000 by default:
 *   MODELWATCH_PROVENANCE_ROWS=10000000 npx vitest run test/integration/provenance-index.test.ts
 */
const N = Number(process.env['MODELWATCH_PROVENANCE_ROWS'] ?? 300_000);
const T0 = Date.UTC(2026, 5, 1);

let db: Database;
let dataDir: string;

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/** The skip index's "Granules: selected/total" for the lookup of `id`. */
async function skipGranules(id: string, settings = ''): Promise<{ selected: number; total: number }> {
  const plan = await rows<{ explain: string }>(`EXPLAIN indexes = 1 ${PREDICTIONS_BY_ID_SQL} ${settings}`, {
    id,
  });
  const text = plan.map((r) => r.explain).join('\n');
  const skip = text.slice(text.indexOf('Name: idx_prediction_id'));
  const match = /Granules: (\d+)\/(\d+)/.exec(skip);
  expect(match, text).not.toBeNull();
  return { selected: Number(match?.[1]), total: Number(match?.[2]) };
}

async function timeLookup(id: string, settings: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await rows(`${PREDICTIONS_BY_ID_SQL} ${settings}`, { id });
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[2] ?? 0;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-provenance-index-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'provenance_index', dataDir });
  // Data written before migration 7, as on a deployment that upgrades.
  await migrate(
    db,
    collectorMigrations.filter((m) => m.version < 7),
  );
  await db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction, score, is_error, entity_id, request_id)
            SELECT concat('model-', toString(number % 3)), '1', concat('p-', toString(number)),
                   fromUnixTimestamp64Milli(toInt64(${T0} + number * 100), 'UTC'),
                   map('age', toFloat64(number % 90), 'income', toFloat64(number % 1000) * 37.5, 'score_a', rand() / 4e9),
                   toString(number % 2), (number % 100) / 100, false, concat('customer-', toString(number % 5000)), ''
            FROM numbers(${N})`,
  });
  // The same id under a second model.
  await db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, is_error)
            VALUES ('model-x', '7', 'p-12345', fromUnixTimestamp64Milli(${T0 + 5}, 'UTC'), '1', false)`,
  });
  await migrate(db, [...collectorMigrations, ...shadowMigrations, ...auditMigrations]);
  // MATERIALIZE INDEX is a background mutation on the parts written before.
  await waitForMutations(db, 'predictions');
}, 600_000);

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the prediction_id index', () => {
  it('exists on predictions as a bloom filter', async () => {
    // Other capabilities index the same table (shadow: ingested_at); only the ids' index is ours.
    expect(
      await rows(
        `SELECT name, type, expr FROM system.data_skipping_indices
         WHERE database = currentDatabase() AND table = 'predictions' AND expr = 'prediction_id'`,
      ),
    ).toEqual([{ name: 'idx_prediction_id', type: 'bloom_filter', expr: 'prediction_id' }]);
  });

  it('lets the lookup read a few granules out of all of them, and still answers the rows', async () => {
    const id = `p-${Math.floor(N / 2)}`;
    const used = await skipGranules(id);
    expect(used.total).toBeGreaterThan(N / 8192 / 2);
    // The granule holding the id plus the filter's false positives (1 % each; 3 % allowed).
    expect(used.selected).toBeLessThanOrEqual(2 + Math.ceil(used.total * 0.03));
    const found = await readProvenance({ db, versions: () => Promise.resolve([]) }, id);
    expect(found?.prediction_id).toBe(id);
    expect(found?.predictions.map((p) => [p.model_id, p.timestamp])).toEqual([
      [`model-${Math.floor(N / 2) % 3}`, new Date(T0 + Math.floor(N / 2) * 100).toISOString()],
    ]);
    const shared = await readProvenance({ db, versions: () => Promise.resolve([]) }, 'p-12345');
    expect(shared?.predictions.map((p) => p.model_id)).toEqual(['model-0', 'model-x']);
    expect(await readProvenance({ db, versions: () => Promise.resolve([]) }, 'p-none')).toBeUndefined();

    const withIndex = await timeLookup(id, '');
    const scan = await timeLookup(id, 'SETTINGS use_skip_indexes = 0');
    console.log(
      `provenance lookup by id over ${N.toLocaleString('en')} predictions: ${withIndex.toFixed(1)} ms with the index ` +
        `(${used.selected}/${used.total} granules), ${scan.toFixed(1)} ms without (median of 5)`,
    );
  }, 120_000);
});
