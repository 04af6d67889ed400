/**
 * Segments' own references on the embedded engine (no service, no broker): which reference each
 * segment and column is measured against (min_reference_rows, per-column fallback), quality's
 * baseline missing rates per segment, the window-value limit and the cache on the segment
 * reference read, the memory bound of the reads that choose segments, and the dashboards' label
 * SQL against the gauges' label.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ColumnDrift } from '../../src/drift/engine/types.js';
import { QualityService } from '../../src/drift/quality/service.js';
import { SegmentEvaluator } from '../../src/drift/segments/evaluator.js';
import { createSegmentGauges, SEGMENT_LABEL_SQL, segmentLabel } from '../../src/drift/segments/gauges.js';
import { SegmentedAnalysis } from '../../src/drift/segments/segmented.js';
import { readSegmentWindows } from '../../src/drift/segments/store.js';
import { DEFAULT_DRIFT_LIMITS, DriftService } from '../../src/drift/service/drift-service.js';
import { PolicyStore } from '../../src/drift/store/policies.js';
import type { ModelRegistry } from '../../src/models/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { requireSegmentInScope, resolveSegments, SegmentError } from '../../src/segments/index.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';

let db: Database;
useMigratedEngine('segment_references', allMigrations, (d) => (db = d));

const T0 = Date.UTC(2026, 3, 1);
const DAY = 86_400_000;
const logger = pino({ level: 'silent' });
const CS = ['a', 'b', 'c'];

const models = {
  list: (model: string) =>
    Promise.resolve([
      {
        model_id: model,
        model_version: '1',
        task: 'binary_classification',
        stage: 'production',
        positive_class: '1',
        first_seen: new Date(T0).toISOString(),
      },
    ]),
} as unknown as ModelRegistry;

function row(
  model: string,
  id: string,
  ts: number,
  num: Record<string, number>,
  str: Record<string, string>,
  tags: Record<string, string> = {},
) {
  return {
    model_id: model,
    model_version: '1',
    prediction_id: id,
    timestamp: ts,
    features_num: num,
    features_str: str,
    prediction: '1',
    prediction_num: 1,
    score: 0.5,
    tags,
    is_error: false,
    entity_id: '',
    request_id: '',
  };
}

function services(database: Database, limits = DEFAULT_DRIFT_LIMITS, segmentMaxMemoryBytes?: number) {
  const policies = new PolicyStore(db);
  const drift = new DriftService({ db, models, policies, logger, limits });
  const quality = new QualityService({ db, drift, policies, logger });
  const segmented = new SegmentedAnalysis({
    db: database,
    models,
    policies,
    logger,
    limits: drift.limits,
    drift,
    quality,
    segmentMaxMemoryBytes,
  });
  return { policies, drift, quality, segmented };
}

/**
 * Model `a`, day 0 the reference: north (150 rows) sends x only, south (150) x, y and c, isle two
 * rows with c = 'a'. Day 1: north sends x, y and c, south as before, isle 40 rows with c as the
 * population's. Two rows on day 2 move the watermark past day 1.
 */
async function regions(model: string): Promise<void> {
  const rows = [];
  for (let i = 0; i < 300; i++) {
    const north = i % 2 === 0;
    const x = (i * 37) % 100;
    const y = (i * 7) % 100;
    rows.push(
      row(
        model,
        `a${i}`,
        T0 + i * 1000,
        north ? { x } : { x, y },
        north ? { region: 'north' } : { region: 'south', c: CS[i % 3]! },
      ),
      row(
        model,
        `b${i}`,
        T0 + DAY + i * 1000,
        { x, y },
        { region: north ? 'north' : 'south', c: CS[i % 3]! },
      ),
    );
  }
  for (let k = 0; k < 2; k++)
    rows.push(row(model, `i0-${k}`, T0 + 400_000 + k, { x: (k * 37) % 100 }, { region: 'isle', c: 'a' }));
  for (let k = 0; k < 40; k++)
    rows.push(
      row(model, `i1-${k}`, T0 + DAY + 400_000 + k, { x: (k * 37) % 100 }, { region: 'isle', c: CS[k % 3]! }),
    );
  for (let k = 0; k < 2; k++)
    rows.push(row(model, `late-${k}`, T0 + 2 * DAY + 43_200_000 + k, { x: 1 }, { region: 'south', c: 'a' }));
  await db.client.insert({ table: 'predictions', values: rows, format: 'JSONEachRow' });
}

const feature = (columns: readonly ColumnDrift[], name: string) => columns.find((c) => c.column === name)!;

describe('segment references', () => {
  it('a column the segment never sent is measured against the whole reference, a small segment uses the whole reference, quality takes the segment’s missing rates; stored windows alike', async () => {
    await regions('a');
    const { policies, drift, segmented } = services(db);
    await drift.setReference({ modelId: 'a', version: '1' }, { from: T0, to: T0 + DAY }, 'test');
    const day1 = { modelId: 'a', version: '1', from: T0 + DAY, to: T0 + 2 * DAY, window: undefined };

    const r = await segmented.drift({ ...day1, segment: 'feature:region' });
    const bySegment = new Map(r.segments.map((s) => [s.value, s]));
    // North: x against its own rows; y and c, which it never sent in the reference range, against the whole reference's (finding 1).
    const north = bySegment.get('north')!;
    expect(north.reference).toBe('mixed');
    expect(north.population_columns).toEqual(['c', 'y']);
    const northColumns = north.buckets[0]!.columns;
    for (const name of ['y', 'c']) {
      expect(feature(northColumns, name).statistic, name).not.toBeNull();
      expect(feature(northColumns, name).p_value, name).not.toBeNull();
      expect(feature(northColumns, name).count, name).toBe(150);
    }
    // South sent everything: its own reference throughout.
    expect(bySegment.get('south')!.reference).toBe('segment');
    expect(bySegment.get('south')!.population_columns).toBeUndefined();
    // Isle: 2 reference rows, under min_reference_rows (100): the whole reference, no false dataset drift (finding 2).
    const isle = bySegment.get('isle')!;
    expect(isle.reference).toBe('population');
    const isleBucket = isle.buckets[0]!;
    expect(feature(isleBucket.columns, 'c').drifted).toBe(false);
    expect(feature(isleBucket.columns, 'c').p_value).toBeGreaterThan(0.05);
    expect(isleBucket.dataset_drift).toBe(false);

    // Quality over the reference day: north never sent y or c, so their absence is not news for north (finding 10).
    const q = await segmented.quality({ ...day1, from: T0, to: T0 + DAY, segment: 'feature:region' });
    const qNorth = q.segments.find((s) => s.value === 'north')!;
    expect(qNorth.reference).toBe('segment');
    for (const name of ['y', 'c']) {
      const column = qNorth.buckets[0]!.columns.find((c) => c.column === name)!;
      expect(column.missing_rate, name).toBe(1);
      expect(column.flags, name).toEqual([]);
      expect(column.status, name).toBe('reference');
    }
    // The whole reference's baseline for the small isle segment.
    expect(q.segments.find((s) => s.value === 'isle')!.reference).toBe('population');

    // The segment loop stores the same choice, and the stored answer reads it back.
    await policies.put('a', { segments: { evaluation_windows: { 'feature:region': '1d' } } }, 'test');
    const evaluator = new SegmentEvaluator({
      db,
      drift,
      segmented,
      models,
      policies,
      gauges: createSegmentGauges(new Registry()),
      logger,
    });
    const stored = await evaluator.runOnce();
    const storedDay1 = stored.filter((w) => w.start === new Date(T0 + DAY).toISOString());
    const storedNorth = storedDay1.find((w) => w.value === 'north')!;
    expect(storedNorth.reference).toBe('mixed');
    expect(storedNorth.population_columns).toEqual(['c', 'y']);
    expect(storedNorth.drift.columns.map((c) => [c.column, c.statistic])).toEqual(
      north.buckets[0]!.columns.map((c) => [c.column, c.statistic]),
    );
    expect(storedDay1.find((w) => w.value === 'isle')!.reference).toBe('population');
    expect(storedDay1.find((w) => w.value === 'isle')!.drift.dataset_drift).toBe(false);
    const storedDay0North = stored.find(
      (w) => w.start === new Date(T0).toISOString() && w.value === 'north',
    )!;
    expect(storedDay0North.quality.columns.filter((c) => c.flagged)).toEqual([]);
    const [readBack] = (
      await readSegmentWindows(db, { modelId: 'a', segmentation: 'feature:region', from: T0 + DAY })
    ).filter((w) => w.value === 'north');
    expect(readBack!.population_columns).toEqual(['c', 'y']);
    expect(readBack!.drift).toEqual(storedNorth.drift);
    const fromStore = await segmented.storedDrift({ ...day1, segment: 'feature:region' });
    const storedAnswer = fromStore.segments.find((s) => s.value === 'north')!;
    expect([storedAnswer.reference, storedAnswer.population_columns]).toEqual(['mixed', ['c', 'y']]);

    // A higher min_reference_rows (the policy): north's 150 rows are too few, the whole reference throughout.
    await policies.put('a', { segments: { min_reference_rows: 200 } }, 'test');
    const strict = await segmented.drift({ ...day1, segment: 'feature:region' });
    expect(strict.segments.map((s) => [s.value, s.reference])).toEqual([
      ['north', 'population'],
      ['south', 'population'],
      ['isle', 'population'],
    ]);
  });

  it('the segment reference read honours the window-value limit (the whole reference and a note), and is cached per revision', async () => {
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, features_str, prediction, prediction_num, score, is_error)
        SELECT 'b', '1', toString(number), fromUnixTimestamp64Milli(${T0} + number * 10, 'UTC'), map('x', number % 97, 'y', number % 13),
               map('region', if(number % 2 = 0, 'n', 's')), '1', 1, 0.5, false FROM numbers(3000)`,
    });
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, features_str, prediction, prediction_num, score, is_error)
        SELECT 'b', '1', concat('c', toString(number)), fromUnixTimestamp64Milli(${T0 + DAY} + number * 10, 'UTC'), map('x', number % 97, 'y', number % 13),
               map('region', if(number % 2 = 0, 'n', 's')), '1', 1, 0.5, false FROM numbers(100)`,
    });
    const day1 = { modelId: 'b', version: '1', from: T0 + DAY, to: T0 + 2 * DAY, window: undefined };
    // 1,500 reference rows × 5 columns per segment: over a limit of 2,000 values; the current day is 100 × 5.
    const limited = services(db, { ...DEFAULT_DRIFT_LIMITS, maxWindowValues: 2_000 });
    await limited.drift.setReference({ modelId: 'b', version: '1' }, { from: T0, to: T0 + DAY }, 'test');
    const r = await limited.segmented.drift({ ...day1, segment: 'feature:region' });
    expect(r.buckets[0]!.count).toBe(100);
    for (const s of r.segments) {
      expect(s.reference, String(s.value)).toBe('population');
      expect(s.note).toMatch(
        /1500 predictions × 5 columns = 7500 values, more than the 2000 .*MODELWATCH_DRIFT_MAX_WINDOW_VALUES/,
      );
      expect(s.buckets[0]!.count).toBe(50);
    }
    const q = await limited.segmented.quality({ ...day1, segment: 'feature:region' });
    expect(q.segments.map((s) => [s.reference, s.note !== undefined])).toEqual([
      ['population', true],
      ['population', true],
    ]);

    // Without the limit: each segment's own reference, read once per reference revision.
    const reads: string[] = [];
    const counting: Database = {
      ...db,
      client: new Proxy(db.client, {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          const method = (value as (p: unknown) => unknown).bind(target);
          if (prop !== 'query' && prop !== 'exec' && prop !== 'command') return method;
          // Every read of the reference range (the window reader's counts and values).
          return (params: { query: string; query_params?: Record<string, unknown> }) => {
            const p = params.query_params ?? {};
            if (p['from'] === T0 && p['to'] === T0 + DAY) reads.push(params.query);
            return method(params);
          };
        },
      }),
    };
    const open = services(counting);
    await open.drift.setReference({ modelId: 'b', version: '1' }, { from: T0, to: T0 + DAY }, 'test');
    const first = await open.segmented.drift({ ...day1, segment: 'feature:region' });
    expect(first.segments.map((s) => [s.reference, s.note])).toEqual([
      ['segment', undefined],
      ['segment', undefined],
    ]);
    const firstReads = reads.length;
    expect(firstReads).toBeGreaterThan(0);
    const again = await open.segmented.drift({ ...day1, segment: 'feature:region' });
    await open.segmented.quality({ ...day1, segment: 'feature:region' });
    expect(reads.length).toBe(firstReads);
    expect(again.segments).toEqual(first.segments);
    // A new reference revision reads the segments' rows again.
    await open.drift.setReference({ modelId: 'b', version: '1' }, { from: T0, to: T0 + DAY }, 'test');
    await open.segmented.drift({ ...day1, segment: 'feature:region' });
    expect(reads.length).toBeGreaterThan(firstReads);
  });

  it('choosing segments by a key with too many distinct values is a 400 under the memory bound, which no later query inherits', async () => {
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, is_error, tags)
        SELECT 'd', '1', toString(number), fromUnixTimestamp64Milli(${T0} + number, 'UTC'), '1', false,
               map('req', concat('request-', leftPad(toString(number), 32, '0'))) FROM numbers(100000)`,
    });
    const spec = { kind: 'tag' as const, name: 'req' };
    const scope = { model: 'd', versions: ['1'], from: T0, to: T0 + DAY };
    const refused = async (run: () => Promise<unknown>, bound = '1 MiB') => {
      const err: unknown = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SegmentError);
      expect((err as SegmentError).status).toBe(400);
      expect((err as SegmentError).message).toMatch(
        /^querystring\/segment: too many distinct values for a segment; choose a key with fewer values or a shorter range \(/,
      );
      expect((err as SegmentError).message).toContain(`more than the ${bound} allowed`);
    };
    const small = { maxMemoryBytes: 1024 ** 2 };
    await refused(() => resolveSegments(db, spec, scope, 10, small));
    await refused(() => requireSegmentInScope(db, spec, scope, { maxMemoryBytes: 1024 }), '1024 bytes');
    // The bound holds for its query only: the same grouping without it, and the default bound, answer.
    const plain = await db.client.query({
      query: `SELECT count() AS n FROM (SELECT tags['req'] AS v FROM predictions WHERE model_id = 'd' GROUP BY v)`,
      format: 'JSONEachRow',
    });
    expect(await plain.json()).toEqual([{ n: 100_000 }]);
    const segments = await resolveSegments(db, spec, scope, 10);
    expect(segments.map((s) => s.predictions)).toEqual([...Array<number>(10).fill(1), 99_990]);

    // The routes: the analysis' configured bound.
    const { drift, segmented } = services(db, DEFAULT_DRIFT_LIMITS, 1024 ** 2);
    await drift.setReference({ modelId: 'd', version: '1' }, { from: T0, to: T0 + DAY }, 'test');
    const request = {
      modelId: 'd',
      version: '1',
      from: T0,
      to: T0 + DAY,
      window: undefined,
      segment: 'tag:req',
    };
    await refused(() => segmented.drift(request));
    await refused(() => segmented.quality(request));
  });

  it('the dashboards’ label SQL writes the gauges’ label, cut values and their hash included', async () => {
    const long = 'v'.repeat(128);
    const cases = [
      { other: false, value: 'north' },
      { other: false, value: `${long}A` },
      { other: false, value: `${long}B` },
      { other: false, value: '😀'.repeat(128) },
      { other: false, value: `${'😀'.repeat(128)}é` },
      { other: false, value: `a'b\\c${'é'.repeat(200)}` },
      { other: true, value: null },
      { other: false, value: null },
    ];
    const labels = new Set<string>();
    for (const w of cases) {
      const result = await db.client.query({
        query: `SELECT ${SEGMENT_LABEL_SQL} AS label FROM (SELECT {s:String} AS segmentation, {o:Bool} AS other, {h:Bool} AS has_value, {v:String} AS value)`,
        query_params: { s: 'tag:t', o: w.other, h: w.value !== null, v: w.value ?? '' },
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ label: string }>();
      expect(row!.label).toBe(segmentLabel('tag:t', w));
      labels.add(row!.label);
    }
    expect(labels.size).toBe(cases.length);
  });
});
