import type { Database } from '../../platform/clickhouse/index.js';
import { planColumns } from '../engine/evaluate.js';
import type { DriftReport, WindowSample } from '../engine/types.js';
import {
  columnDistributions,
  type ColumnDistribution,
  type DistributionOptions,
} from '../report/distribution.js';
import { countPredictions } from '../store/references.js';
import { readWindows } from '../store/windows.js';
import {
  checkWindowValues,
  defaultVersion,
  selectPlans,
  type DriftService,
  type ReportRequest,
} from './drift-service.js';

export interface ReportWithDistributions extends DriftReport {
  distributions: ColumnDistribution[];
  datasetDriftShare: number;
}

/** A bucket does not shrink the distributions' window: only a shorter range or fewer columns do. */
const NARROW_DISTRIBUTIONS =
  "The report's distributions read the whole range as one window: give a shorter from/to range or fewer columns (columns=a,b)";

/**
 * The drift route's report with each column's reference and current distributions over the whole
 * range (the HTML report). The range is read twice: per bucket, then as one window. That window is
 * checked against the window value limit first (one count), so a refusal names the way out that
 * helps, before the buckets are read.
 */
export async function reportWithDistributions(
  service: DriftService,
  db: Database,
  request: ReportRequest,
  options: DistributionOptions = {},
): Promise<ReportWithDistributions> {
  const version = request.version ?? defaultVersion(await service.versions(request.modelId));
  const key = await service.knownVersion(request.modelId, version);
  const reference = await service.requireReference(key);
  const settings = await service.settings(request.modelId);
  const plans = selectPlans(planColumns(reference, settings, request.method), request.columns);
  const check = (predictions: readonly number[]) =>
    checkWindowValues(predictions, plans.length, service.maxWindowValues(), NARROW_DISTRIBUTIONS);
  check([await countPredictions(db, key, request.from, request.to)]);
  const report = await service.report({ ...request, version });
  const windows: WindowSample[] = [];
  for await (const sample of readWindows(db, {
    ...request,
    key,
    window: undefined,
    plans,
    checkWindows: check,
  }))
    windows.push(sample);
  return {
    ...report,
    distributions: columnDistributions(plans, windows, options),
    datasetDriftShare: settings.datasetDriftShare,
  };
}
