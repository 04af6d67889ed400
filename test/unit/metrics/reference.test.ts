import { describe, expect, it } from 'vitest';
import { classOf, macroF1, percentile, referenceMetrics, regression, rocAuc } from './reference.js';

/**
 * The reference implementation the metrics tests derive expected values from, checked against
 * scikit-learn 1.9.1 / NumPy run offline (the project never depends on Python); values pasted.
 */
describe('reference metrics agree with scikit-learn', () => {
  it('ROC AUC averages ties (roc_auc_score)', () => {
    // roc_auc_score([1,0,1,0,1,0,0], [0.9,0.8,0.4,0.4,0.7,0.2,0.7]) = 0.6666666666666666
    expect(
      rocAuc([0.9, 0.8, 0.4, 0.4, 0.7, 0.2, 0.7], [true, false, true, false, true, false, false]),
    ).toBeCloseTo(0.6666666666666666, 15);
    // roc_auc_score([1,0,0,1], [0.6,0.3,0.55,0.35]) = 0.75
    expect(rocAuc([0.6, 0.3, 0.55, 0.35], [true, false, false, true])).toBe(0.75);
    expect(rocAuc([0.5, 0.5, 0.5, 0.8], [false, true, true, false])).toBe(0.25);
    expect(rocAuc([0.1, 0.2], [true, true])).toBeNull();
  });

  it('macro F1 over the classes of both lists, zero_division=0', () => {
    // f1_score(['cat','cat','dog','dog','fish'], ['cat','dog','dog','bird','cat'], average='macro', zero_division=0) = 0.25
    expect(macroF1(['cat', 'cat', 'dog', 'dog', 'fish'], ['cat', 'dog', 'dog', 'bird', 'cat'])).toBeCloseTo(
      0.25,
      15,
    );
    // f1_score(['a','b','b','b'], ['a','b','a','c'], average='macro', zero_division=0) = 0.38888888888888884
    expect(macroF1(['a', 'b', 'b', 'b'], ['a', 'b', 'a', 'c'])).toBeCloseTo(0.38888888888888884, 15);
  });

  it('regression: MAE, RMSE, R² as scikit-learn; MAPE without zero labels', () => {
    const r = regression([12, 0, 8, 2], [10, 5, 7, 3]);
    // mean_absolute_error = 2.25, sqrt(mean_squared_error) = 2.7838821814150108, r2_score = 0.6593406593406593
    expect(r.mae).toBe(2.25);
    expect(r.rmse).toBeCloseTo(2.7838821814150108, 15);
    expect(r.r2).toBeCloseTo(0.6593406593406593, 15);
    // mean_absolute_percentage_error([12,8,2], [10,7,3]) = 0.2638888888888889; with the zero label
    // scikit-learn divides by machine epsilon and reports 5629499534213120.0, which says nothing.
    expect(r.mape).toBeCloseTo(0.2638888888888889, 15);
    expect(regression([3, 3, 3], [1, 2, 3]).r2).toBeNull();
    expect(regression([3], [1]).r2).toBeNull();
  });

  it('percentiles interpolate linearly (numpy.percentile default)', () => {
    // np.percentile([10,20,30,40,50,60,70], [50,95,99]) = [40.0, 67.0, 69.39999999999999]
    const values = [70, 10, 30, 20, 50, 40, 60];
    expect(percentile(values, 0.5)).toBe(40);
    expect(percentile(values, 0.95)).toBeCloseTo(67, 12);
    expect(percentile(values, 0.99)).toBeCloseTo(69.39999999999999, 12);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('binary metrics and F1 (f1_score) with booleans as 1/0', () => {
    expect(classOf(true)).toBe('1');
    expect(classOf('false')).toBe('0');
    const predictions = [1, 1, 0, 0, true, 0, 1].map((prediction, i) => ({
      id: `p${i}`,
      version: '1',
      time: 0,
      prediction,
    }));
    const labels = [true, 0, 1, 0, 1, false, 0].map((label, i) => ({ id: `p${i}`, label, time: 0 }));
    const [bucket] = referenceMetrics(predictions, labels, {
      bucketOf: () => 0,
      taskOf: () => 'binary_classification',
    });
    // f1_score([1,0,1,0,1,0,0], [1,1,0,0,1,0,1]) = 0.5714285714285714; precision 0.5; recall 0.6666666666666666
    expect(bucket).toMatchObject({ accuracy: 4 / 7, precision: 0.5, recall: 2 / 3 });
    expect(bucket?.f1).toBeCloseTo(0.5714285714285714, 15);
  });
});
