import { describe, expect, it } from 'vitest';
import { checkPrediction } from '../../../src/collectors/validation.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import {
  DEFAULT_MIN_REFERENCE_ROWS,
  MAX_SEGMENT_PARAM_LENGTH,
  otherFilter,
  parseSegment,
  restrictPredictions,
  SegmentError,
  segmentSettings,
  segmentsPolicySchema,
  valueFilter,
} from '../../../src/segments/index.js';

describe('parseSegment', () => {
  it('reads feature:<name> and tag:<name>; the name may hold a colon', () => {
    expect(parseSegment('feature:region')).toEqual({ kind: 'feature', name: 'region' });
    expect(parseSegment('tag:a:b')).toEqual({ kind: 'tag', name: 'a:b' });
  });

  it.each([
    ['region', /not feature:<name> or tag:<name>/],
    ['column:region', /not feature:<name> or tag:<name>/],
    ['feature:', /name is empty/],
    ['tag:a\u0000b', /control character/],
    ['tag:a\u007fb', /control character/],
    // C1 controls too: a NEL (U+0085) in a name broke lines, and `feature:region\u0085` was refused as 'region'.
    ['feature:region\u0085', /control character/],
    ['tag:a\u009fb', /control character/],
    [`feature:${'x'.repeat(257)}`, /at most 256|characters; at most/],
    ['x'.repeat(100_000), /100000 characters; at most/],
  ])('refuses %j with a 400 naming the parameter', (text, message) => {
    let error: unknown;
    try {
      parseSegment(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SegmentError);
    expect((error as SegmentError).status).toBe(400);
    expect((error as SegmentError).message).toMatch(/^querystring\/segment: /);
    expect((error as SegmentError).message).toMatch(message);
    expect((error as SegmentError).message.length).toBeLessThan(300);
  });

  it('accepts a name of exactly the limit', () => {
    expect(parseSegment(`tag:${'é'.repeat(256)}`).name).toHaveLength(256);
    expect(MAX_SEGMENT_PARAM_LENGTH).toBe('feature:'.length + 256);
  });

  it('counts a tag name in code points, as the collectors accept it; a feature name in UTF-16 units, as they do', () => {
    const emoji = (n: number) => '😀'.repeat(n);
    // The collectors store a tag named by 200 emoji (ajv counts code points): it can be segmented by.
    expect(
      checkPrediction({
        prediction_id: 'p',
        model_id: 'm',
        model_version: '1',
        timestamp: Date.UTC(2026, 0, 1),
        features: { a: 1 },
        prediction: 1,
        tags: { [emoji(200)]: 'web' },
      }).ok,
    ).toBe(true);
    expect(parseSegment(`tag:${emoji(200)}`).name).toBe(emoji(200));
    expect(parseSegment(`tag:${emoji(256)}`).name).toBe(emoji(256));
    expect(() => parseSegment(`tag:${emoji(257)}`)).toThrow(/the tag name is 257 characters; at most 256/);
    // A feature name of 200 emoji is 400 UTF-16 units, over the collectors' feature-name limit.
    expect(() => parseSegment(`feature:${emoji(200)}`)).toThrow(/the feature name is 400 characters/);
    // The policy declares such a tag segmentation too.
    expect(segmentsPolicySchema.safeParse({ evaluate: [`tag:${emoji(200)}`] }).success).toBe(true);
    expect(segmentsPolicySchema.safeParse({ evaluate: [`tag:${emoji(257)}`] }).success).toBe(false);
  });
});

describe('segment filters', () => {
  it('carry the name and values as parameters, never in the SQL text', () => {
    const hostile = "x') OR 1=1 --";
    const filter = valueFilter({ kind: 'feature', name: hostile }, hostile);
    expect(filter.sql).not.toContain(hostile);
    expect(filter.params).toEqual({ seg_name: hostile, seg_value: hostile });
    const other = otherFilter({ kind: 'tag', name: 'channel' }, ['web', 'app']);
    expect(other.sql).toContain('NOT IN {seg_values:Array(String)}');
    expect(other.params).toEqual({ seg_name: 'channel', seg_values: ['web', 'app'] });
  });
});

describe('restrictPredictions', () => {
  const anchor = 'model_id = {model:String}';
  function recorder() {
    const calls: { query: string; query_params?: Record<string, unknown> }[] = [];
    const client = {
      query: (p: { query: string; query_params?: Record<string, unknown> }) => {
        calls.push(p);
        return Promise.resolve('ok');
      },
      other: () => 'untouched',
    };
    return { calls, db: { client, name: 'd' } as unknown as Database };
  }

  it("adds the segment's condition after every anchor and its parameters to the query's", async () => {
    const { calls, db } = recorder();
    const scoped = restrictPredictions(db, anchor, {
      sql: 'x = {seg_value:String}',
      params: { seg_value: 'n' },
    });
    await scoped.client.query({
      query: `SELECT 1 FROM predictions WHERE ${anchor} AND y IN (SELECT id FROM predictions WHERE ${anchor})`,
      query_params: { model: 'm' },
    });
    expect(calls[0]!.query).toBe(
      `SELECT 1 FROM predictions WHERE ${anchor} AND (x = {seg_value:String}) AND y IN (SELECT id FROM predictions WHERE ${anchor} AND (x = {seg_value:String}))`,
    );
    expect(calls[0]!.query_params).toEqual({ model: 'm', seg_value: 'n' });
    expect((scoped.client as unknown as { other(): string }).other()).toBe('untouched');
    expect(scoped.name).toBe('d');
  });

  it('refuses a query that reads predictions without the anchor, passes others through', async () => {
    const { calls, db } = recorder();
    const scoped = restrictPredictions(db, anchor, { sql: '1', params: {} });
    expect(() => scoped.client.query({ query: 'SELECT count() FROM predictions FINAL' })).toThrow(/segment/);
    await scoped.client.query({ query: 'SELECT * FROM drift_reference_values' });
    expect(calls.map((c) => c.query)).toEqual(['SELECT * FROM drift_reference_values']);
  });
});

describe('the segments policy section', () => {
  it('fills defaults and reads declared windows', () => {
    const settings = segmentSettings(
      segmentsPolicySchema.parse({ evaluation_windows: { 'feature:region': '1w' } }),
    );
    expect(settings.maxSegments).toBe(10);
    expect(settings.minReferenceRows).toBe(DEFAULT_MIN_REFERENCE_ROWS);
    expect(DEFAULT_MIN_REFERENCE_ROWS).toBe(100);
    expect(segmentSettings(segmentsPolicySchema.parse({ min_reference_rows: 20 })).minReferenceRows).toBe(20);
    expect(settings.windowFor('feature:region')?.text).toBe('1w');
    expect(settings.windowFor('tag:channel')).toBeUndefined();
  });

  it.each([
    { max_segments: 0 },
    { max_segments: 51 },
    { max_segments: 1.5 },
    { max_segments: '10' },
    { min_reference_rows: 0 },
    { min_reference_rows: 2.5 },
    { min_reference_rows: '100' },
    { evaluation_windows: { region: '1d' } },
    { evaluation_windows: { 'feature:region': '400d' } },
    { evaluation_windows: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`tag:t${i}`, '1d'])) },
    { unknown: 1 },
  ])('refuses %j', (policy) => {
    expect(segmentsPolicySchema.safeParse(policy).success).toBe(false);
  });
});
