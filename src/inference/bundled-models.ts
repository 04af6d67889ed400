/** The models committed in `data/models/` (built by tools/models/train.py), shipped in the package. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type BundledModel =
  'california-logistic' | 'california-forest' | 'synthetic-logistic-10' | 'california-income-regression';

// src/inference/ and dist/inference/ are both two levels below the package root.
const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data/models');

/** The `.onnx` path; its sidecar `NAME.json` lies beside it. */
export function bundledModelFile(name: BundledModel): string {
  return path.join(DIR, `${name}.onnx`);
}
