import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HOURLY_ERROR_RATE_SQL,
  HOURLY_PREDICTIONS_SQL,
  SEGMENT_DRIFT_SHARE_SQL,
  SEGMENTS_LATEST_SQL,
} from '../../../src/dashboards/index.js';
import { writeSegmentWindows, type StoredSegmentWindow } from '../../../src/drift/segments/store.js';
import { expandMacros } from '../../support/grafana-macros.js';
import { allMigrations } from '../../support/migrations.js';
import { migrate, openDatabase, type Database } from '../../../src/platform/clickhouse/index.js';

/**
 * The dashboards' ClickHouse SQL on the embedded engine and the real schema (no Grafana here),
 * with the variables and macros expanded as the plugin documents them (test/support/grafana-macros.ts).
 */
function expand(sql: string, model: string | string[], from: number, to: number): string {
  return expandMacros(sql, { from, to, variables: { model, version: ['v1', 'v2'] } });
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2, 10);
// What Grafana's quoting formats leave for ClickHouse to misread: a quote, a backslash, a double quote.
const MODEL = `churn's \\new "model"`;

function row(id: string, version: string, time: number, isError: boolean, model = MODEL): string {
  return JSON.stringify({
    model_id: model,
    model_version: version,
    prediction_id: id,
    timestamp: new Date(time).toISOString(),
    prediction: '1',
    is_error: isError,
  });
}

interface SegmentRow {
  model?: string;
  version?: string;
  segmentation?: string;
  start: number;
  /** @default HOUR */
  length?: number;
  value: string | null;
  other?: boolean;
  predictions: number;
  drifted?: string[];
  flagged?: string[];
}

/** A stored segment window over features x and y, as the segment loop writes it. */
function segmentWindow(r: SegmentRow): StoredSegmentWindow {
  const [start, end] = [new Date(r.start).toISOString(), new Date(r.start + (r.length ?? HOUR)).toISOString()];
  const drifted = r.drifted ?? [];
  const flagged = r.flagged ?? [];
  const features = ['x', 'y'];
  return {
    model_id: r.model ?? MODEL,
    version: r.version ?? 'v1',
    segmentation: r.segmentation ?? 'feature:region',
    start,
    end,
    value: r.value,
    other: r.other ?? false,
    predictions: r.predictions,
    reference: 'segment',
    reference_revision: 1,
    drift: {
      start,
      end,
      count: r.predictions,
      drift_share: drifted.length / features.length,
      dataset_drift: drifted.length / features.length >= 0.5,
      columns: features.map((column) => ({
        column,
        role: 'feature',
        kind: 'numerical',
        method: 'ks',
        statistic: drifted.includes(column) ? 0.4 : 0.02,
        p_value: drifted.includes(column) ? 0.0001 : 0.7,
        threshold: 0.05,
        drifted: drifted.includes(column),
        count: r.predictions,
      })),
    },
    quality: {
      start,
      end,
      count: r.predictions,
      flagged_columns: flagged.length,
      columns: features.map((column) => ({
        column,
        status: 'reference',
        value_type: 'number',
        kind: 'numerical',
        values: r.predictions,
        missing_rate: flagged.includes(column) ? 0.1 : 0,
        wrong_type_share: 0,
        unseen_share: null,
        top_unseen: [],
        out_of_range_share: 0,
        flags: flagged.includes(column) ? ['missing'] : [],
        flagged: flagged.includes(column),
      })),
    },
  };
}

/**
 * Hour 0 and hour 1 of the time range, and hour 5 after it. In hour 1 north drifts (x) and the
 * predictions without a region miss y; east was a segment in hour 0 only; the channel
 * segmentation's latest window is hour 0.
 */
const SEGMENTS: SegmentRow[] = [
  { start: T0, value: 'east', predictions: 40 },
  { start: T0, value: 'north', predictions: 30 },
  { start: T0, value: 'south', predictions: 50 },
  { start: T0, segmentation: 'tag:channel', value: 'app', predictions: 45 },
  { start: T0, segmentation: 'tag:channel', value: 'web', predictions: 75, flagged: ['y'] },
  { start: T0 + HOUR, value: 'north', predictions: 35, drifted: ['x'] },
  { start: T0 + HOUR, value: 'south', predictions: 60 },
  { start: T0 + HOUR, value: null, other: true, predictions: 12 },
  { start: T0 + HOUR, value: null, predictions: 3, flagged: ['y'] },
  { start: T0 + 5 * HOUR, value: 'south', predictions: 70, drifted: ['x', 'y'] },
  { start: T0 + HOUR, model: 'other', value: 'south', predictions: 9, drifted: ['x', 'y'] },
];

/**
 * A model with `evaluation_windows: ['1d']`: the days starting 03-01 and 03-02. Each is stored
 * only once it has closed, so its start is always more than a day before "now".
 */
const DAY = 24 * HOUR;
const DAY0 = Date.UTC(2026, 2, 1);
const DAILY: SegmentRow[] = [
  { model: 'daily', start: DAY0, length: DAY, value: 'north', predictions: 900 },
  { model: 'daily', start: DAY0, length: DAY, value: 'south', predictions: 800 },
  { model: 'daily', start: DAY0 + DAY, length: DAY, value: 'north', predictions: 1000, drifted: ['x'] },
  { model: 'daily', start: DAY0 + DAY, length: DAY, value: 'south', predictions: 700 },
];

describe('dashboard ClickHouse SQL (embedded engine)', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-dashboards-sql-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'dashboards_sql', dataDir });
    await migrate(db, allMigrations);
    const rows = [
      row('a1', 'v1', T0 + 1_000, false),
      row('a2', 'v1', T0 + 2_000, true),
      row('a3', 'v2', T0 + 3_000, false),
      row('a4', 'v1', T0 + HOUR + 5_000, false),
      row('late', 'v1', T0 + 5 * HOUR, false), // outside the time range
      row('o1', 'v1', T0 + 1_000, true, 'other'),
      // An id ending in a backslash, and the id it would read as were the backslash dropped.
      row('b1', 'v1', T0 + 1_000, true, 'ops\\'),
      row('b2', 'v2', T0 + 2_000, false, 'ops\\'),
      row('n1', 'v1', T0 + 1_000, false, 'ops'),
    ];
    await db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
    // A redelivered batch: separate parts, merged away only eventually; FINAL must not count it.
    await db.insertJsonEachRow('predictions', Buffer.from(rows.slice(0, 2).join('\n')));
    await writeSegmentWindows(db, [...SEGMENTS, ...DAILY].map(segmentWindow));
    // A replayed run writes the same keys again; FINAL keeps one.
    await writeSegmentWindows(db, SEGMENTS.slice(5, 9).map(segmentWindow));
  });

  afterAll(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The models dashboard's model variable is single-valued, the drift dashboard's multi-valued (an array). */
  async function query(
    sql: string,
    model: string | string[] = MODEL,
    range: [from: number, to: number] = [T0, T0 + 2 * HOUR],
  ): Promise<Record<string, unknown>[]> {
    const result = await db.client.query({
      query: expand(sql, model, ...range),
      format: 'JSONEachRow',
    });
    return result.json<Record<string, unknown>>();
  }

  it('counts stored predictions per hour and version, without redelivered duplicates', async () => {
    expect(await query(HOURLY_PREDICTIONS_SQL)).toEqual([
      { time: '2026-03-02 10:00:00', model_version: 'v1', predictions: 2 },
      { time: '2026-03-02 10:00:00', model_version: 'v2', predictions: 1 },
      { time: '2026-03-02 11:00:00', model_version: 'v1', predictions: 1 },
    ]);
  });

  it('computes the error rate per hour and version', async () => {
    expect(await query(HOURLY_ERROR_RATE_SQL)).toEqual([
      { time: '2026-03-02 10:00:00', model_version: 'v1', error_rate: 0.5 },
      { time: '2026-03-02 10:00:00', model_version: 'v2', error_rate: 0 },
      { time: '2026-03-02 11:00:00', model_version: 'v1', error_rate: 0 },
    ]);
  });

  it('lists every segment of each segmentation’s latest window in the range, most drifted first', async () => {
    const hour1 = '2026-03-02 11:00:00.000';
    const hour0 = '2026-03-02 10:00:00.000';
    const segment = (window_start: string, seg: string, predictions: number, drift: string, flagged = '') => ({
      model: MODEL,
      version: 'v1',
      window_start,
      segment: seg,
      predictions,
      drift_share: drift.split(', ').filter(Boolean).length / 2,
      dataset_drift: drift !== '',
      drifted: drift,
      quality_flagged: flagged,
    });
    expect(await query(SEGMENTS_LATEST_SQL, [MODEL])).toEqual([
      segment(hour1, 'feature:region=north', 35, 'x'),
      segment(hour1, 'feature:region!none', 3, '', 'y'),
      segment(hour1, 'feature:region!other', 12, ''),
      segment(hour1, 'feature:region=south', 60, ''),
      segment(hour0, 'tag:channel=app', 45, ''),
      segment(hour0, 'tag:channel=web', 75, '', 'y'),
    ]);
  });

  it('gives each segment’s drift share per stored window, labelled as the segment gauges are', async () => {
    const series = (r: SegmentRow) =>
      `${MODEL} ${r.segmentation ?? 'feature:region'}${r.other ? '!other' : r.value === null ? '!none' : `=${r.value}`} version v1`;
    const inRange = SEGMENTS.filter((r) => r.model === undefined && r.start < T0 + 2 * HOUR);
    expect(await query(SEGMENT_DRIFT_SHARE_SQL, [MODEL])).toEqual(
      inRange
        .map((r) => ({
          time: new Date(r.start).toISOString().replace('T', ' ').replace('Z', ''),
          series: series(r),
          drift_share: (r.drifted ?? []).length / 2,
        }))
        .sort((a, b) => (a.time + a.series < b.time + b.series ? -1 : 1)),
    );
  });

  it('shows a day-long window that overlaps the range though it began before it', async () => {
    const day1 = '2026-03-02 00:00:00.000';
    const latest = (range: [number, number]) =>
      query(SEGMENTS_LATEST_SQL, ['daily'], range).then((rows) =>
        rows.map((r) => [r['window_start'], r['segment'], r['drift_share']]),
      );
    const history = (range: [number, number]) =>
      query(SEGMENT_DRIFT_SHARE_SQL, ['daily'], range).then((rows) => rows.map((r) => [r['time'], r['series']]));
    const expected = [
      [day1, 'feature:region=north', 0.5],
      [day1, 'feature:region=south', 0],
    ];
    const closed = DAY0 + 2 * DAY;
    // The last 24 hours at 15:00 the day after: the window of 03-02 (closed at midnight) and not 03-01's.
    const lastDay: [number, number] = [closed + 15 * HOUR - DAY, closed + 15 * HOUR];
    expect(await latest(lastDay)).toEqual(expected);
    expect(await history(lastDay)).toEqual([
      [day1, 'daily feature:region=north version v1'],
      [day1, 'daily feature:region=south version v1'],
    ]);
    // The default 6 hours, four hours after it closed.
    const sixHours: [number, number] = [closed + 4 * HOUR - 6 * HOUR, closed + 4 * HOUR];
    expect(await latest(sixHours)).toEqual(expected);
    expect(await history(sixHours)).toHaveLength(2);
    // A range shorter than the window that has moved past its end misses it (the panels say so).
    expect(await latest([closed + 9 * HOUR, closed + 15 * HOUR])).toEqual([]);
  });

  it('reads a model id with a backslash and quotes exactly, and a crafted value cannot rewrite the query', async () => {
    expect(MODEL).toHaveLength(20);
    // The hourly panels: MODEL's rows only, none of "other"'s.
    expect((await query(HOURLY_PREDICTIONS_SQL)).length).toBeGreaterThan(0);
    // Grafana's :singlequote makes this `'x\'' OR 1=1 --'`, which ClickHouse read as a closed
    // string and an OR: every model's rows, the version and time filters commented out.
    const crafted = "x\\' OR 1=1 --";
    expect(await query(HOURLY_PREDICTIONS_SQL, crafted)).toEqual([]);
    expect(await query(SEGMENT_DRIFT_SHARE_SQL, [crafted])).toEqual([]);
    expect(await query(SEGMENT_DRIFT_SHARE_SQL, [crafted, 'other'])).toEqual([
      { time: '2026-03-02 11:00:00.000', series: 'other feature:region=south version v1', drift_share: 1 },
    ]);
    // A lone id ending in a backslash left the string open (a syntax error on every panel); its
    // rows are read, and none of the model without the backslash.
    expect(await query(HOURLY_ERROR_RATE_SQL, 'ops\\')).toEqual([
      { time: '2026-03-02 10:00:00', model_version: 'v1', error_rate: 1 },
      { time: '2026-03-02 10:00:00', model_version: 'v2', error_rate: 0 },
    ]);
  });
});
