import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictionRow, PREDICTION_ROW, valueColumns } from '../../src/collectors/rows.js';
import { checkPrediction } from '../../src/collectors/validation.js';
import type { PredictionEvent } from '../../src/collectors/events.js';
import {
  FEWER_MERGES_BASE,
  migrate,
  openDatabase,
  RowBinaryWriter,
  type Database,
} from '../../src/platform/clickhouse/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';
import { waitForMutations } from '../support/mutations.js';

/**
 * Issue 17: collectors write `predictions` as RowBinary rows built in JavaScript, where earlier
 * releases wrote the event's JSON into `predictions_input` and the view `predictions_input_mv`
 * (migrations 3 and 26) split it. The view stays (an instance of an earlier release may still
 * write there during a rolling upgrade), and is the reference here: random valid events go both
 * ways and every stored column must be the same.
 */

/** The line earlier releases wrote into `predictions_input` (their rows.ts). */
function inputLine(event: PredictionEvent, raw: string): string {
  const prediction = valueColumns(event.prediction);
  const text = JSON.stringify;
  return (
    `{"ts":${event.timestamp},"id":${text(event.prediction_id)},"m":${text(event.model_id)},"mv":${text(event.model_version)},` +
    `"p":${text(prediction.text)},"pn":${prediction.num ?? 'null'},"s":${event.score ?? 'null'},"l":${event.latency_ms ?? 'null'},` +
    `"err":${event.status === 'error'},"ent":${text(event.entity_id ?? '')},"req":${text(event.request_id ?? '')},` +
    `"hp":${event.probabilities != null},"e":${raw}}`
  );
}

// Lone surrogates are left to the unit tests: the view's JSON functions store them otherwise
// than decoding the message does (which the new rows follow, as the strings of labels do).
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const name = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }),
  fc.constantFrom('f0', 'x', '1', 'ü'),
);
const finite = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1e6, max: 1e6 }),
  // 1e19: an integer the view's JSON parser reads as UInt64; beyond 2^64 see the last test.
  fc.constantFrom(0, 0.1, 1e21, 1e19, 5e-324, -1.5e-300),
);
const featureValue = fc.oneof(finite, text(40), fc.boolean(), fc.constant(null));
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const event = (n: number) =>
  fc.record({
    prediction_id: fc.constant(`p-${n}`),
    model_id: fc.constantFrom('credit-risk', 'mödel 🧪'),
    model_version: fc.oneof(fc.constantFrom('1', 'v2.0'), fc.integer({ min: 0, max: 99 })),
    timestamp: fc.oneof(
      fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }),
      fc.constant('2026-11-25T10:00:00.123Z'),
    ),
    features: fc.dictionary(name, featureValue, { maxKeys: 30 }),
    prediction: fc.oneof(finite, text(12), fc.boolean(), fc.constantFrom('2.5', ' ')),
    score: optional(fc.option(finite, { nil: null })),
    probabilities: optional(fc.option(fc.dictionary(name, finite, { maxKeys: 4 }), { nil: null })),
    latency_ms: optional(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true })),
    status: optional(fc.constantFrom('ok', 'error', null)),
    entity_id: optional(text(20)),
    request_id: optional(text(20)),
    tags: optional(fc.dictionary(name, text(16), { maxKeys: 3 })),
  });

const COLUMNS = PREDICTION_ROW.columns.filter((c) => c !== 'prediction_id').join(', ');

describe('predictions written as RowBinary equal what the predictions_input view stored', () => {
  let db: Database;

  useMigratedEngine('prediction_rows', allMigrations, (opened) => (db = opened));

  /** Each stored row as its prefix-less id and the text of every other column (Float64 to the bit). */
  const stored = async (prefix: string) =>
    (
      await (
        await db.client.query({
          query: `SELECT substring(prediction_id, ${prefix.length + 1}) AS id, toString(tuple(${COLUMNS})) AS row
                  FROM predictions WHERE startsWith(prediction_id, {prefix:String}) ORDER BY id`,
          query_params: { prefix },
          format: 'JSONEachRow',
        })
      ).json<{ id: string; row: string }>()
    ).map(({ id, row }) => ({ id, row }));

  it('for 600 random valid events', async () => {
    const events = fc.sample(fc.tuple(...Array.from({ length: 600 }, (_, n) => event(n))), {
      numRuns: 1,
      seed: 17,
    })[0]!;
    const lines: string[] = [];
    const rows: Buffer[] = [];
    const writer = new RowBinaryWriter(64);
    for (const generated of events) {
      const raw = JSON.stringify(generated);
      const checked = checkPrediction(JSON.parse(raw));
      if (!checked.ok) throw new Error(`the generator made an invalid event: ${checked.detail}: ${raw}`);
      lines.push(inputLine({ ...checked.event, prediction_id: `view:${checked.event.prediction_id}` }, raw));
      rows.push(
        predictionRow(writer, { ...checked.event, prediction_id: `rows:${checked.event.prediction_id}` }),
      );
    }
    // Two centuries of event times: more months than one insert may span by default (as the collectors allow).
    const settings = { throw_on_max_partitions_per_insert_block: 0 };
    await db.insertJsonEachRow('predictions_input', Buffer.from(lines.join('\n')), { settings });
    await db.insertJsonEachRow('predictions', Buffer.concat(rows), {
      format: 'RowBinary',
      ...PREDICTION_ROW,
      settings,
    });

    const view = await stored('view:');
    expect(view).toHaveLength(600);
    expect(await stored('rows:')).toEqual(view);
    // Not vacuous: the events held features of every kind, probabilities and tags.
    const values = events.flatMap((e) => Object.values(e.features));
    for (const kind of ['number', 'string', 'boolean'])
      expect(values.filter((v) => typeof v === kind).length, kind).toBeGreaterThan(100);
    expect(values.filter((v) => v === null).length).toBeGreaterThan(100);
    expect(
      events.filter((e) => e.probabilities && Object.keys(e.probabilities).length > 0).length,
    ).toBeGreaterThan(50);
    expect(events.filter((e) => e.tags && Object.keys(e.tags).length > 0).length).toBeGreaterThan(50);
  });

  // Found by the test above: an integer literal beyond 2^64 anywhere in the event (JSON.stringify
  // writes 2^65 as 36893488147419103000) made the view's JSON functions fail on the whole event,
  // and it was stored without any feature, probability or tag. JSON.parse reads it as a Float64.
  it('keeps every feature of an event holding an integer beyond 2^64', async () => {
    const event = {
      prediction_id: 'big-1',
      model_id: 'm',
      model_version: '1',
      timestamp: Date.UTC(2026, 0, 1),
      features: { huge: 2 ** 65, a: 1.5, s: 'x' },
      prediction: 1,
      probabilities: { yes: 0.25 },
      tags: { channel: 'web' },
    };
    const checked = checkPrediction(JSON.parse(JSON.stringify(event)));
    if (!checked.ok) throw new Error(checked.detail);
    await db.insertJsonEachRow('predictions', predictionRow(new RowBinaryWriter(), checked.event), {
      format: 'RowBinary',
      ...PREDICTION_ROW,
    });
    const [row] = await (
      await db.client.query({
        query: `SELECT toString(features_num) AS num, toString(features_str) AS str, toString(probabilities) AS p,
                       toString(tags) AS tags FROM predictions WHERE prediction_id = 'big-1'`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, string>>();
    expect(row).toEqual({
      num: "{'huge':36893488147419103000,'a':1.5}",
      str: "{'s':'x'}",
      p: "{'yes':0.25}",
      tags: "{'channel':'web'}",
    });
  });

  it('stores predictions in a table whose merges all go column by column (migration 8)', async () => {
    const result = await db.client.query({
      query: `SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'predictions'`,
      format: 'JSONEachRow',
    });
    const [table] = await result.json<{ engine_full: string }>();
    expect(table?.engine_full).toMatch(/vertical_merge_algorithm_min_rows_to_activate = 1\b/);
  });

  it('merges predictions and the tables written beside them less often (migrations 9, 46, 53)', async () => {
    const result = await db.client.query({
      query: `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()
                AND name IN ('predictions', 'prediction_lookup', 'shadow_scores', 'labels') ORDER BY name`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ name: string; engine_full: string }>();
    const tables = Object.fromEntries(
      rows.map((t) => [t.name, /merge_selector_base = (\d+)/.exec(t.engine_full)?.[1] ?? 'default']),
    );
    // Wider merges of the wide prediction rows, in smaller blocks (peak memory).
    expect(rows.find((t) => t.name === 'predictions')?.engine_full).toMatch(/merge_max_block_size = 2048\b/);
    expect(tables).toEqual({
      labels: 'default',
      prediction_lookup: String(FEWER_MERGES_BASE),
      predictions: String(FEWER_MERGES_BASE),
      shadow_scores: String(FEWER_MERGES_BASE),
    });
  });
});

describe('migration 10: feature and class names as LowCardinality map keys', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-prediction-keys-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'prediction_keys', dataDir });
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const maps = async () =>
    (
      await (
        await db.client.query({
          query: `SELECT prediction_id AS id, toString(tuple(features_num, features_str, probabilities)) AS maps
                  FROM predictions ORDER BY id`,
          format: 'JSONEachRow',
        })
      ).json<{ id: string; maps: string }>()
    ).map(({ id, maps }) => ({ id, maps }));

  const types = async () =>
    Object.fromEntries(
      (
        await (
          await db.client.query({
            query: `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'predictions'
                      AND name IN ('features_num', 'features_str', 'probabilities')`,
            format: 'JSONEachRow',
          })
        ).json<{ name: string; type: string }>()
      ).map((c) => [c.name, c.type]),
    );

  it('keeps the maps of rows stored before it, name for name and value for value', async () => {
    await migrate(
      db,
      allMigrations.filter((m) => m.version < 10),
    );
    expect(await types()).toEqual({
      features_num: 'Map(String, Float64)',
      features_str: 'Map(String, String)',
      probabilities: 'Map(String, Float64)',
    });
    // Names of every kind (empty, non-Latin, emoji, quotes), two parts of rows.
    for (const part of [0, 1]) {
      await db.client.command({
        query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, features_str, prediction, probabilities, is_error, entity_id, request_id)
          SELECT 'm', '1', concat('p-${part}-', toString(number)), toDateTime64(1764000000 + number, 3, 'UTC'),
            map('f' || toString(number % 7), number / 3, 'ü', -0.0, '', 1e300, 'a''b', number),
            map('🧪', toString(number), 'city', if(number % 2 = 0, 'Zürich', '')),
            toString(number % 3), map('yes', number / 100, 'no', 1 - number / 100), false, '', ''
          FROM numbers(500)`,
      });
    }
    const before = await maps();
    expect(before).toHaveLength(1000);

    await migrate(db, allMigrations);
    expect(await types()).toEqual({
      features_num: 'Map(LowCardinality(String), Float64)',
      features_str: 'Map(LowCardinality(String), String)',
      probabilities: 'Map(LowCardinality(String), Float64)',
    });
    expect(await maps()).toEqual(before);
    // And once the background mutation has rewritten the parts, and they are merged into one.
    await waitForMutations(db, 'predictions');
    // A merge the engine started itself can make one OPTIMIZE a no-op: ask until one part is left.
    let parts = 0;
    for (let i = 0; i < 100 && parts !== 1; i++) {
      await db.client.command({ query: 'OPTIMIZE TABLE predictions FINAL' });
      const [row] = await (
        await db.client.query({
          query: `SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND table = 'predictions' AND active`,
          format: 'JSONEachRow',
        })
      ).json<{ n: number }>();
      parts = Number(row?.n);
    }
    expect(parts).toBe(1);
    expect(await maps()).toEqual(before);
  });
});
