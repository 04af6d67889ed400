/** Pure statistics of data drift (no I/O). Functions take sorted samples or aligned counts. */
export {
  KS_EXACT_MAX_N,
  kolmogorovSf,
  ksExactPValue,
  ksPValue,
  ksReportedStatistic,
  ksStatistic,
} from './ks.js';
export {
  WASSERSTEIN_MIN_STD,
  normalizedWasserstein,
  populationStd,
  wassersteinDistance,
} from './wasserstein.js';
export {
  type AlignedCounts,
  EDGE_QUANTILES,
  alignCategoryCounts,
  binCounts,
  binCountsSorted,
  binCountsUnsorted,
  binIndex,
  quantileEdges,
  quantileLinear,
} from './binning.js';
export { PSI_ZERO_PROPORTION, jensenShannonDistance, psi } from './divergence.js';
export { type ChiSquareResult, chiSquare, chiSquareSf } from './chi-square.js';
export { regularizedGammaQ } from './gamma.js';
export {
  AUTO_TEST_MAX_REFERENCE,
  type ColumnKind,
  DEFAULT_DATASET_DRIFT_SHARE,
  DEFAULT_THRESHOLDS,
  DRIFT_METHODS,
  type DriftMethod,
  MAX_CATEGORICAL_DISTINCT,
  METHOD_KINDS,
  type MethodOption,
  columnKind,
  datasetDrift,
  inferKind,
  isDrifted,
  resolveMethod,
  usesPValue,
} from './methods.js';
export {
  type ColumnDriftResult,
  type NumericSample,
  type NumericalReference,
  binnedDrift,
  categoricalDrift,
  checkReferenceSample,
  numericalDrift,
  numericalReference,
  toSortedFinite,
} from './column.js';
