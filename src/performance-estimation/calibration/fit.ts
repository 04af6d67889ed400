/**
 * A reference's calibration as CBPE stores it: NannyML's decision (needs-calibration.ts) and, when
 * it calibrates, the isotonic calibrator fitted on the whole reference.
 */
import { fitIsotonic } from './isotonic.js';
import { needsCalibration, needsCalibrationYielding, type CalibrationDecision } from './needs-calibration.js';

export interface CalibrationFit extends CalibrationDecision {
  /** The calibrator's thresholds and values (empty when not calibrated). */
  thresholds: number[];
  values: number[];
}

/** The fit in one go, blocking its thread: for the worker thread (fit-worker.ts). */
export function fitCalibration(scores: Float64Array, labels: Uint8Array): CalibrationFit {
  return withCalibrator(needsCalibration(labels, scores), scores, labels);
}

/** The same fit on the calling thread, handing the event loop back between its steps. */
export async function fitCalibrationYielding(
  scores: Float64Array,
  labels: Uint8Array,
): Promise<CalibrationFit> {
  const decision = await needsCalibrationYielding(labels, scores);
  // The decision's last step and the final fit are one sort of the reference each: not in one go.
  if (decision.calibrate) await new Promise((resolve) => setImmediate(resolve));
  return withCalibrator(decision, scores, labels);
}

function withCalibrator(
  decision: CalibrationDecision,
  scores: Float64Array,
  labels: Uint8Array,
): CalibrationFit {
  const model = decision.calibrate ? fitIsotonic(scores, labels) : { x: [], y: [] };
  return { ...decision, thresholds: model.x, values: model.y };
}
