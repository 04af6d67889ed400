import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { labelIndexer } from '../../../src/inference/label-index.js';

const indices = (classes: string[], tensor: ort.Tensor) =>
  Array.from(labelIndexer(classes)(tensor, tensor.size));

describe('label tensor → class index', () => {
  it('int64: values in and out of the class set, beyond int32, negative', () => {
    const t = new ort.Tensor(
      'int64',
      BigInt64Array.of(0n, 1n, 2n, -1n, 2n ** 32n, 2n ** 32n + 1n, -(2n ** 40n)),
      [7],
    );
    expect(indices(['0', '1'], t)).toEqual([0, 1, -1, -1, -1, -1, -1]);
    expect(indices(['-1', '1'], t)).toEqual([-1, 1, -1, 0, -1, -1, -1]);
  });

  it('int64 classes spread beyond a dense table, and non-canonical spellings', () => {
    const t = new ort.Tensor('int64', BigInt64Array.of(7n, 1_000_000n, 5n, 1n), [4]);
    expect(indices(['7', '1000000', '05'], t)).toEqual([0, 1, -1, -1]);
  });

  it('int64 classes beyond int32 and beyond 2^53 match their own labels (review s21 #3)', () => {
    const t = new ort.Tensor('int64', BigInt64Array.of(3_000_000_001n, 3_000_000_000n, 5n, 2n ** 32n), [4]);
    expect(indices(['3000000000', '3000000001'], t)).toEqual([1, 0, -1, -1]);
    const huge = 2n ** 53n + 1n;
    const big = new ort.Tensor('int64', BigInt64Array.of(huge, -huge, 1n, huge + 1n), [4]);
    expect(indices([String(huge), String(-huge), '1'], big)).toEqual([0, 1, 2, -1]);
    // The low word alone must not match a small class: 2^32 + 1 is not 1.
    expect(
      indices(['1', '3000000000'], new ort.Tensor('int64', BigInt64Array.of(2n ** 32n + 1n), [1])),
    ).toEqual([-1]);
  });

  it('int32 and string labels', () => {
    expect(indices(['3', '4'], new ort.Tensor('int32', Int32Array.of(4, 3, 5), [3]))).toEqual([1, 0, -1]);
    expect(indices(['no', 'yes'], new ort.Tensor('string', ['yes', 'maybe', 'no'], [3]))).toEqual([1, -1, 0]);
  });
});
