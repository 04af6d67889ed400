import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRows } from '../../../src/inference/encode-rows.js';
import { loadModel, loadModelFile, parseMetadata, type OnnxModel } from '../../../src/inference/index.js';
import { asObjects, CALIFORNIA_FEATURES, expected, modelBytes, modelFile, sidecar } from './models.js';

const want = expected('california-logistic');
const good = asObjects(want.rows.slice(0, 10), CALIFORNIA_FEATURES);
const withFeature = (i: number, feature: string, value: unknown) => ({ ...good[i], [feature]: value });

describe('bad rows are reported alone; the rest of the batch is scored as if they were absent', () => {
  let model: OnnxModel;
  beforeAll(async () => {
    model = await loadModelFile(modelFile('california-logistic'));
  });
  afterAll(() => model.close());

  it('missing, null, string, array, object, NaN, ±Infinity, beyond float32, not an object', async () => {
    const { MedInc: _dropped, ...missing } = good[1] as Record<string, number>;
    const rows: unknown[] = [
      good[0],
      missing,
      withFeature(2, 'HouseAge', null),
      withFeature(3, 'AveRooms', '5.2'),
      withFeature(4, 'Latitude', [37.5]),
      withFeature(5, 'Longitude', { v: 1 }),
      withFeature(6, 'Population', NaN),
      withFeature(7, 'AveOccup', Infinity),
      withFeature(8, 'AveBedrms', -Infinity),
      withFeature(9, 'MedInc', 1e39),
      null,
      42,
      [1, 2, 3],
      withFeature(0, 'HouseAge', 'x'.repeat(100_000)),
      good[9],
    ];
    const result = await model.score(rows);
    expect(result.rows).toBe(15);
    expect(result.scored).toBe(2);
    expect(result.failures.map((f) => [f.row, f.feature, f.reason])).toEqual([
      [1, 'MedInc', 'missing'],
      [2, 'HouseAge', 'missing'],
      [3, 'AveRooms', 'wrong_type'],
      [4, 'Latitude', 'wrong_type'],
      [5, 'Longitude', 'wrong_type'],
      [6, 'Population', 'not_finite'],
      [7, 'AveOccup', 'not_finite'],
      [8, 'AveBedrms', 'not_finite'],
      [9, 'MedInc', 'out_of_range'],
      [10, null, 'not_an_object'],
      [11, null, 'not_an_object'],
      [12, null, 'not_an_object'],
      [13, 'HouseAge', 'wrong_type'],
    ]);
    expect(result.failures[2]?.message).toBe(
      "row 3, feature 'AveRooms': expected a number, got string '5.2'",
    );
    expect(result.failures[5]?.message).toBe("row 6, feature 'Population': not a finite number (NaN)");
    expect(result.failures[8]?.message).toBe("row 9, feature 'MedInc': 1e+39 is beyond the float32 range");
    expect(result.failures[12]?.message.length).toBeLessThan(200);

    const alone = await model.score([good[0], good[9]]);
    expect([result.scores[0], result.scores[14]]).toEqual([alone.scores[0], alone.scores[1]]);
    expect([result.labels[0], result.labels[14]]).toEqual(alone.labels);
    expect(result.labels.slice(1, 14).every((l) => l === null)).toBe(true);
    expect(result.scores.slice(1, 14).every(Number.isNaN)).toBe(true);
    expect(Array.from(result.probabilities.slice(2, 28)).every(Number.isNaN)).toBe(true);
  });

  it('a boolean where a number is declared is 1 or 0, as the shadow feed reads it stored', async () => {
    const flags = await model.score([withFeature(0, 'Latitude', true), withFeature(1, 'Latitude', false)]);
    const numbers = await model.score([withFeature(0, 'Latitude', 1), withFeature(1, 'Latitude', 0)]);
    expect([flags.failures, flags.labels, Array.from(flags.scores)]).toEqual([
      [],
      numbers.labels,
      Array.from(numbers.scores),
    ]);
  });

  it('a batch over 2^28 values is INPUT_SHAPE before anything is allocated', async () => {
    const huge = new Array<unknown>(2 ** 25 + 1);
    await expect(model.score(huge)).rejects.toMatchObject({
      code: 'INPUT_SHAPE',
      message: 'batch of 33554433 rows × 8 features is over 268435456 values; split it',
    });
  });

  it('extra features are ignored', async () => {
    const result = await model.score([{ ...good[0], extra: 'anything', Population2: NaN }]);
    expect(result.failures).toEqual([]);
    expect(result.scores[0]).toBe((await model.score([good[0]])).scores[0]);
  });

  it('an empty batch: nothing scored, nothing run, empty arrays', async () => {
    for (const result of [
      await model.score([]),
      await model.scoreMatrix({ values: new Float32Array(0), rows: 0, layout: 'row-major' }),
    ]) {
      expect(result).toMatchObject({ rows: 0, scored: 0, labels: [], failures: [] });
      expect(result.scores).toHaveLength(0);
      expect(result.probabilities).toHaveLength(0);
    }
  });

  it('a batch of only bad rows: every row reported, nothing run', async () => {
    const result = await model.score([null, withFeature(0, 'MedInc', NaN)]);
    expect(result).toMatchObject({ rows: 2, scored: 0, labels: [null, null] });
    expect(result.failures).toHaveLength(2);
  });

  it('matrices: non-finite and beyond-float32 rows refused alone, the caller’s array untouched, a wrong length is INPUT_SHAPE', async () => {
    const values = Float32Array.from(want.rows.slice(0, 4).flat());
    values[8 + 3] = NaN;
    const before = values.slice();
    const result = await model.scoreMatrix({ values, rows: 4, layout: 'row-major' });
    expect(result.failures.map((f) => [f.row, f.feature, f.reason])).toEqual([
      [1, 'AveBedrms', 'not_finite'],
    ]);
    expect(values).toEqual(before);
    const alone = await model.score([good[0], good[2], good[3]]);
    expect([result.scores[0], result.scores[2], result.scores[3]]).toEqual(Array.from(alone.scores));

    const wide = Float64Array.from(want.rows.slice(0, 2).flat());
    wide[8] = -1e300;
    const big = await model.scoreMatrix({ values: wide, rows: 2, layout: 'row-major' });
    expect(big.failures.map((f) => [f.row, f.feature, f.reason])).toEqual([[1, 'MedInc', 'out_of_range']]);

    await expect(
      model.scoreMatrix({ values: new Float32Array(15), rows: 2, layout: 'row-major' }),
    ).rejects.toMatchObject({
      code: 'INPUT_SHAPE',
      message: 'matrix of 15 values is not 2 rows × 8 features',
    });
    await expect(
      model.scoreMatrix({ values: new Float32Array(0), rows: -1, layout: 'column-major' }),
    ).rejects.toMatchObject({ code: 'INPUT_SHAPE' });
  });
});

describe('categorical features (ordinal encoding)', () => {
  const metadata = parseMetadata(
    {
      task: 'binary_classification',
      classes: ['0', '1'],
      positive_class: '1',
      features: [
        { name: 'x', type: 'number' },
        { name: 'note', type: 'string' },
        { name: 'region', type: 'string', categories: ['north', 'south', 'east'] },
      ],
    },
    'test',
  );

  it('a category becomes its index; unknown values and numbers are refused; strings without categories are not read', () => {
    const batch = encodeRows(
      [
        { x: 1.5, region: 'east', note: 42 },
        { x: 2, region: 'west' },
        { x: 3, region: 2 },
        { x: 4, region: 'north' },
      ],
      metadata.columns,
    );
    expect(batch.rows).toBe(2);
    expect(Array.from(batch.values.subarray(0, 4))).toEqual([1.5, 2, 4, 0]);
    expect(Array.from(batch.source?.subarray(0, 2) ?? [])).toEqual([0, 3]);
    expect(batch.failures.map((f) => f.message)).toEqual([
      "row 1, feature 'region': 'west' is not one of its 3 categories",
      "row 2, feature 'region': expected a string, got number",
    ]);
  });
});

describe('a boolean in a categorical feature', () => {
  it('is its text, as the collectors store it and the shadow feed reads it: a category, or unknown', () => {
    const columns = parseMetadata(
      {
        task: 'binary_classification',
        classes: ['0', '1'],
        positive_class: '1',
        features: [
          { name: 'has_card', type: 'string', categories: ['false', 'true'] },
          { name: 'region', type: 'string', categories: ['north', 'south'] },
        ],
      },
      'test',
    ).columns;
    const rows = [
      { has_card: true, region: 'south' },
      { has_card: false, region: 'north' },
      { has_card: 'true', region: 'north' },
      { has_card: true, region: true },
      { has_card: 1, region: 'north' },
    ];
    // Both the generated reader and the generic loop (past 200 columns) read it so.
    const wide = [
      ...columns,
      ...Array.from({ length: 200 }, (_, i) => ({ name: `n${i}`, type: 'number' as const })),
    ];
    const numbers = Object.fromEntries(wide.slice(2).map((c) => [c.name, 0]));
    for (const [cols, extra] of [
      [columns, {}],
      [wide, numbers],
    ] as const) {
      const batch = encodeRows(
        rows.map((r) => ({ ...r, ...extra })),
        cols,
      );
      const f = cols.length;
      expect(batch.rows).toBe(3);
      expect([0, 1, 2].map((r) => [batch.values[r * f], batch.values[r * f + 1]])).toEqual([
        [1, 1],
        [0, 0],
        [1, 0],
      ]);
      expect(batch.failures.map((x) => [x.row, x.feature, x.reason, x.message])).toEqual([
        [3, 'region', 'unknown_category', "row 3, feature 'region': 'true' is not one of its 2 categories"],
        [4, 'has_card', 'wrong_type', "row 4, feature 'has_card': expected a string, got number"],
      ]);
    }
  });
});

describe('a label outside the declared classes', () => {
  it('is a failed row with reason label_not_in_classes, not a crash', async () => {
    const model = await loadModel({
      bytes: modelBytes('california-logistic'),
      metadata: { ...sidecar('california-logistic'), classes: ['0', '2'], positive_class: '2' },
    });
    const result = await model.score(asObjects(want.rows.slice(0, 50), CALIFORNIA_FEATURES));
    const ones = want.predict.slice(0, 50).filter((p) => p === '1').length;
    expect(ones).toBeGreaterThan(0);
    expect(result.scored).toBe(50 - ones);
    expect(
      result.failures.every((f) => f.reason === 'label_not_in_classes' && f.message.includes('label 1')),
    ).toBe(true);
    expect(result.labels.filter((l) => l !== null).every((l) => l === '0')).toBe(true);
    await model.close();
  });
});
