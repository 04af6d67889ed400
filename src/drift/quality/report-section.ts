/** The HTML drift report's data-quality section: the quality route's buckets and the thresholds behind their flags. */
import type { Bucket } from '../../platform/time/index.js';
import type { ReportQuality } from '../report/quality.js';
import type { QualityService } from './service.js';

export async function qualityForReport(
  quality: QualityService,
  request: { modelId: string; version: string; from: number; to: number; window: Bucket | undefined },
): Promise<ReportQuality> {
  const settings = await quality.settings(request.modelId);
  const report = await quality.report(request);
  return {
    thresholds: {
      missing_rate: settings.missingRate,
      wrong_type_share: settings.wrongTypeShare,
      unseen_share: settings.unseenShare,
      out_of_range_share: settings.outOfRangeShare,
      new_columns: settings.flagNewColumns,
    },
    buckets: report.buckets,
  };
}
