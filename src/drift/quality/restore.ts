/**
 * After a restart the quality gauges show each model's latest stored window until a newer one is
 * evaluated, as drift's do. The gauges ignore a window older than the one shown, so this may run
 * beside the evaluation loop.
 */
import type { Database } from '../../platform/clickhouse/index.js';
import type { QualityGauges } from './gauges.js';
import { readQualityWindows } from './store.js';

export async function restoreQualityGauges(db: Database, gauges: QualityGauges): Promise<number> {
  const result = await db.client.query({
    query: 'SELECT DISTINCT model_id FROM quality_results ORDER BY model_id',
    format: 'JSONEachRow',
  });
  let shown = 0;
  for (const { model_id: modelId } of await result.json<{ model_id: string }>()) {
    // Every version's window at the latest start: the gauges combine them.
    const windows = await readQualityWindows(db, { modelId, limit: 1 });
    for (const latest of windows) gauges.show({ modelId, version: latest.version }, latest);
    if (windows.length > 0) shown += 1;
  }
  return shown;
}
