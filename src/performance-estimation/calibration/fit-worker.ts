/**
 * A worker thread of the calibration pool (fit-pool.ts): the very function the calling thread
 * would run, so a fit is the same bit for bit wherever it was made.
 */
import { fitCalibration, type CalibrationFit } from './fit.js';

export interface FitTask {
  scores: Float64Array;
  labels: Uint8Array;
}

export default function fit(task: FitTask): CalibrationFit {
  return fitCalibration(task.scores, task.labels);
}
