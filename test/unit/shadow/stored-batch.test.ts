import { describe, expect, it } from 'vitest';
import { batchEnd, safeMark } from '../../../src/shadow/feed-sql.js';
import { encodeShadowRows, readStoredBatch, type BatchRow } from '../../../src/shadow/stored-batch.js';

const heads = [
  '{"model_id":"m","prediction_id":"a\\"x","production_score":0.25}',
  '{"model_id":"m","prediction_id":"é","production_score":null}',
  '{"model_id":"m","prediction_id":"c","production_score":1}',
];
const hex = (values: number[]) => Buffer.from(Float32Array.from(values).buffer).toString('hex');
const row = (over: Partial<BatchRow> = {}): BatchRow => ({
  n: 3,
  head: Buffer.from(heads.join('\n')).toString('base64'),
  x: hex([1.5, 0, -2, 3, 1e39, Number.NaN]),
  bad: '021',
  ...over,
});

describe('readStoredBatch', () => {
  it('decodes the matrix, the refusal codes and each row’s head without its closing brace', () => {
    const batch = readStoredBatch(row(), 2);
    expect(batch.rows).toBe(3);
    expect([...batch.values]).toEqual([1.5, 0, -2, 3, Number.POSITIVE_INFINITY, Number.NaN]);
    expect([...batch.refused]).toEqual([
      [1, 'wrong_type'],
      [2, 'missing'],
    ]);
    const text = (r: number) => batch.head.toString('utf8', batch.starts[r], batch.ends[r]);
    expect([0, 1, 2].map(text)).toEqual(heads.map((h) => h.slice(0, -1)));
  });

  it('refuses a batch whose parts disagree on the row count', () => {
    expect(() => readStoredBatch(row({ bad: '02' }), 2)).toThrow(/3 rows/);
    expect(() => readStoredBatch(row(), 3)).toThrow(/feature bytes/);
    expect(() => readStoredBatch(row({ n: 2, bad: '02', x: hex([1, 2, 3, 4]) }), 2)).toThrow(/more heads/);
  });

  it('reads an empty batch', () => {
    expect(readStoredBatch({ n: 0, head: '', x: '', bad: '' }, 4).rows).toBe(0);
  });
});

describe('encodeShadowRows', () => {
  it('appends the challenger’s fields to each head: valid JSON lines', () => {
    const batch = readStoredBatch(row(), 2);
    const body = encodeShadowRows(
      batch,
      {
        labels: ['1', null, 'quo"te'],
        scores: [0.75, Number.NaN, Number.POSITIVE_INFINITY],
        failed: new Map([[1, 'wrong_type']]),
      },
      1_700_000_000_000,
    );
    const lines = body.toString('utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        model_id: 'm',
        prediction_id: 'a"x',
        production_score: 0.25,
        label: '1',
        score: 0.75,
        failed: false,
        failure: '',
        scored_at: 1_700_000_000_000,
      },
      {
        model_id: 'm',
        prediction_id: 'é',
        production_score: null,
        label: '',
        score: null,
        failed: true,
        failure: 'wrong_type',
        scored_at: 1_700_000_000_000,
      },
      // A non-finite score is stored as null; the row still counts as scored.
      {
        model_id: 'm',
        prediction_id: 'c',
        production_score: 1,
        label: 'quo"te',
        score: null,
        failed: false,
        failure: '',
        scored_at: 1_700_000_000_000,
      },
    ]);
  });
});

describe('batchEnd', () => {
  const g = (at: number, n: number) => ({ at, n });
  it('takes whole inserts up to the row budget, at least one', () => {
    expect(batchEnd([g(10, 5), g(11, 5), g(12, 5)], 99, 10)).toBe(11);
    expect(batchEnd([g(10, 50), g(11, 5)], 99, 10)).toBe(10);
    expect(batchEnd([g(10, 5), g(11, 5)], 99, 10)).toBe(99);
  });
  it('stops at the last listed insert when the list was cut', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => g(i + 1, 1));
    expect(batchEnd(many, 50_000, 20_000)).toBe(10_000);
  });
});

describe('safeMark', () => {
  it('stays before the oldest running insert and before now', () => {
    expect(safeMark(1000, null)).toBe(998);
    expect(safeMark(1000, 900)).toBe(898);
    expect(safeMark(1000, 1005)).toBe(998);
  });
});
