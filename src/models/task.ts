export const TASKS = ['binary_classification', 'multiclass_classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];

/**
 * SPEC 4: numeric prediction with a score → binary; string or boolean → classification;
 * numeric alone → regression. A boolean has two classes, so it is binary; a string may
 * have any number, so it is multiclass (whose accuracy and macro F1 hold for two as well).
 */
export function inferTask(prediction: number | string | boolean, score: number | null | undefined): Task {
  if (typeof prediction === 'boolean') return 'binary_classification';
  if (typeof prediction === 'string') return 'multiclass_classification';
  return score === null || score === undefined ? 'regression' : 'binary_classification';
}
