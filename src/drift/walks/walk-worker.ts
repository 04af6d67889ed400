/**
 * A worker thread of the walk pool: one numerical column's statistic, with the very function the
 * main thread uses, so a result is the same bit for bit wherever it was computed.
 */
import { numericalDrift, type ColumnDriftResult } from '../statistics/index.js';
import type { WalkTask } from './walk-pool.js';

export default function walk(task: WalkTask): ColumnDriftResult {
  // The main thread checked the reference once for all windows (see WalkPool.run).
  return numericalDrift(task.method, task.ref, task.sorted, task.threshold, true);
}
