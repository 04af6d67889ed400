import type { Database } from '../../platform/clickhouse/index.js';
import { planColumns } from '../engine/evaluate.js';
import type { DriftReport, WindowSample } from '../engine/types.js';
import {
  columnDistributions,
  type ColumnDistribution,
  type DistributionOptions,
} from '../report/distribution.js';
import { readWindows } from '../store/windows.js';
import { selectPlans, type DriftService, type ReportRequest } from './drift-service.js';

export interface ReportWithDistributions extends DriftReport {
  distributions: ColumnDistribution[];
  datasetDriftShare: number;
}

/**
 * The drift route's report with each column's reference and current distributions over the whole
 * range (the HTML report). The range is read twice: per bucket, then as one window.
 */
export async function reportWithDistributions(
  service: DriftService,
  db: Database,
  request: ReportRequest,
  options: DistributionOptions = {},
): Promise<ReportWithDistributions> {
  const report = await service.report(request);
  const key = await service.knownVersion(request.modelId, report.version);
  const reference = await service.requireReference(key);
  const settings = await service.settings(request.modelId);
  const plans = selectPlans(planColumns(reference, settings, request.method), request.columns);
  const windows: WindowSample[] = [];
  for await (const sample of readWindows(db, { ...request, key, window: undefined, plans }))
    windows.push(sample);
  return {
    ...report,
    distributions: columnDistributions(plans, windows, options),
    datasetDriftShare: settings.datasetDriftShare,
  };
}
