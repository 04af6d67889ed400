import { describe, expect, it } from 'vitest';
import {
  loadModel,
  loadModelFile,
  parseMetadata,
  parseMetadataJson,
  readMetadataProps,
  METADATA_PROPS_KEY,
} from '../../../src/inference/index.js';
import { CALIFORNIA_FEATURES, modelBytes, modelFile, sidecar } from './models.js';

const base = () => ({
  task: 'binary_classification',
  classes: ['0', '1'],
  positive_class: '1',
  features: [
    { name: 'a', type: 'number' },
    { name: 'b', type: 'number' },
  ],
});

/**
 * The model minus its metadata_props entry, which train.py writes last: the entry is tag 0x72
 * (field 14, length-delimited), a varint length, and the bytes up to the end.
 */
function withoutTrailingMetadata(bytes: Uint8Array): Uint8Array {
  for (let at = bytes.length - 3; at >= 0; at--) {
    if (bytes[at] !== 0x72) continue;
    let length = 0;
    let shift = 1;
    let i = at + 1;
    for (; i < bytes.length && i < at + 4; i++) {
      length += ((bytes[i] as number) & 0x7f) * shift;
      shift *= 128;
      if ((bytes[i] as number) < 0x80) break;
    }
    if (i + 1 + length === bytes.length) return bytes.subarray(0, at);
  }
  throw new Error('no trailing metadata_props entry');
}

function refusal(value: unknown): string {
  try {
    parseMetadata(value, 'test');
  } catch (err) {
    expect(err).toMatchObject({ code: 'METADATA_INVALID' });
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('metadata', () => {
  it('the artifact carries the same metadata as its sidecar', () => {
    for (const name of ['california-logistic', 'california-forest', 'synthetic-logistic-10'] as const) {
      const embedded = readMetadataProps(modelBytes(name)).get(METADATA_PROPS_KEY) ?? '';
      expect(JSON.parse(embedded)).toEqual(sidecar(name));
    }
  });

  it('loaded from metadata_props alone, from a sidecar, or given: the same feature order, classes and outputs', async () => {
    const fromProps = await loadModel({ bytes: modelBytes('california-forest') });
    const fromSidecar = await loadModelFile(modelFile('california-forest'));
    const given = await loadModel({
      bytes: modelBytes('california-forest'),
      metadata: sidecar('california-forest'),
    });
    for (const m of [fromProps, fromSidecar, given]) {
      expect(m.metadata.columns.map((c) => c.name)).toEqual(CALIFORNIA_FEATURES);
      expect(m.metadata).toMatchObject({
        task: 'binary_classification',
        classes: ['0', '1'],
        positiveClass: '1',
        outputs: { label: 'label', probabilities: 'probabilities' },
      });
      expect(m.binding).toEqual({
        input: 'input',
        label: 'label',
        labelType: 'int64',
        probabilities: 'probabilities',
        probabilityType: 'float32',
      });
      await m.close();
    }
    expect(fromProps.sha256).toMatch(/^1c403bce77e9a8d3/);
  });

  it('the given metadata wins over metadata_props', async () => {
    const renamed = {
      ...sidecar('california-logistic'),
      features: CALIFORNIA_FEATURES.map((n) => ({ name: `x_${n}`, type: 'number' })),
    };
    const model = await loadModel({ bytes: modelBytes('california-logistic'), metadata: renamed });
    expect(model.metadata.columns[0]?.name).toBe('x_MedInc');
    await model.close();
  });

  it('no metadata anywhere: METADATA_INVALID saying where it looked', async () => {
    const bytes = modelBytes('california-logistic');
    const bare = withoutTrailingMetadata(bytes);
    expect(bare.length).toBeLessThan(bytes.length - 500);
    expect(readMetadataProps(bare).size).toBe(0);
    await expect(loadModel({ bytes: bare })).rejects.toMatchObject({
      code: 'METADATA_INVALID',
      message: expect.stringContaining('metadata_props["modelwatch"]') as string,
    });
    const model = await loadModel({ bytes: bare, metadata: sidecar('california-logistic') });
    expect(model.metadata.columns).toHaveLength(8);
    await model.close();
  });

  it('names the field at fault', () => {
    // Regression is a task now (issue 16); it takes no classes, so this body's are the fault.
    expect(refusal({ ...base(), task: 'regression' })).toMatch(
      /metadata\.classes: a regression model has no classes/,
    );
    expect(refusal({ ...base(), task: 'forecast' })).toMatch(/metadata\.task/);
    expect(refusal({ ...base(), positive_class: '2' })).toMatch(
      /metadata\.positive_class: '2' is not one of classes/,
    );
    expect(refusal({ ...base(), positive_class: undefined })).toMatch(/metadata\.positive_class: required/);
    expect(refusal({ ...base(), classes: ['0', '1', '2'] })).toMatch(
      /metadata\.classes: a binary model has exactly 2 classes/,
    );
    expect(refusal({ ...base(), classes: ['1', '1'] })).toMatch(/metadata\.classes: classes must be unique/);
    expect(
      refusal({
        ...base(),
        features: [
          { name: 'a', type: 'number' },
          { name: 'a', type: 'number' },
        ],
      }),
    ).toMatch(/metadata\.features\[1\]\.name: duplicate feature 'a'/);
    expect(refusal({ ...base(), features: [{ name: 'a', type: 'date' }] })).toMatch(
      /metadata\.features\[0\]\.type/,
    );
    expect(refusal({ ...base(), features: [{ name: '', type: 'number' }] })).toMatch(
      /metadata\.features\[0\]\.name/,
    );
    expect(refusal({ ...base(), features: [{ name: 'a', type: 'number', categories: ['x'] }] })).toMatch(
      /metadata\.features\[0\]\.categories: categories are only/,
    );
    expect(refusal({ ...base(), features: [{ name: 'region', type: 'string' }] })).toMatch(
      /metadata\.features: no feature of type "number"/,
    );
    expect(refusal({ ...base(), features: [] })).toMatch(/metadata\.features/);
    expect(refusal(null)).toMatch(/^model metadata \(test\) metadata/);
    expect(() => parseMetadataJson('[', 'x.json')).toThrow(/model metadata \(x\.json\) is not valid JSON/);
  });

  it('hostile sizes: 10,001 features, a 10,000-character name, are refused by the schema', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}`, type: 'number' }));
    expect(refusal({ ...base(), features: many })).toMatch(/metadata\.features/);
    expect(refusal({ ...base(), features: [{ name: 'x'.repeat(10_000), type: 'number' }] })).toMatch(
      /metadata\.features\[0\]\.name/,
    );
  });

  it('categories: up to 100,000 per feature, as the registration route takes them (review s21 #6)', () => {
    const zips = (n: number) => Array.from({ length: n }, (_, i) => String(10_000 + i));
    const m = parseMetadata(
      {
        ...base(),
        features: [
          { name: 'a', type: 'number' },
          { name: 'zip', type: 'string', categories: zips(5_000) },
        ],
      },
      'test',
    );
    expect(m.columns[1]?.categories).toHaveLength(5_000);
    expect(
      refusal({ ...base(), features: [{ name: 'zip', type: 'string', categories: zips(100_001) }] }),
    ).toMatch(/metadata\.features\[0\]\.categories/);
    expect(refusal({ ...base(), features: [{ name: 'zip', type: 'string', categories: [] }] })).toMatch(
      /metadata\.features\[0\]\.categories/,
    );
  });

  it('graph columns: numbers and categorical strings in declared order; strings without categories are not graph inputs', () => {
    const m = parseMetadata(
      {
        ...base(),
        features: [
          { name: 'a', type: 'number' },
          { name: 'note', type: 'string' },
          { name: 'region', type: 'string', categories: ['north', 'south'] },
          { name: 'b', type: 'number' },
        ],
      },
      'test',
    );
    expect(m.features.map((f) => f.name)).toEqual(['a', 'note', 'region', 'b']);
    expect(m.columns.map((f) => f.name)).toEqual(['a', 'region', 'b']);
  });
});
