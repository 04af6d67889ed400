/**
 * The NannyML California housing data vendored in test/fixtures/drift (Apache-2.0): the reference
 * period (Oct 2020 – May 2021) and the analysis period (Jun 2021 – May 2022), one row an hour, with
 * their ground truth. Shipped in the npm package (package.json `files`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { SimulatorError } from './errors.js';

export const FEATURES = [
  'MedInc',
  'HouseAge',
  'AveRooms',
  'AveBedrms',
  'Population',
  'AveOccup',
  'Latitude',
  'Longitude',
] as const;

export interface StoryRow {
  /** NannyML's row id (unique over both periods). */
  id: string;
  /** Event time, epoch ms. */
  time: number;
  features: Record<string, number>;
  /** Ground truth (clf_target: the block's median house value is above the median). */
  label: number;
}

export interface StoryData {
  reference: StoryRow[];
  analysis: StoryRow[];
}

// src/simulator/ and dist/simulator/ are both two levels below the package root.
export const DATA_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test/fixtures/drift',
);

function csv(file: string): Record<string, string>[] {
  try {
    return parse<Record<string, string>>(readFileSync(file), { columns: true, skip_empty_lines: true });
  } catch (err) {
    throw new SimulatorError(
      'DATA_INVALID',
      `simulator data ${file} cannot be read (${err instanceof Error ? err.message : String(err)}); run with --no-simulator`,
    );
  }
}

function toRow(r: Record<string, string>, label: string | undefined, file: string): StoryRow {
  const time = Date.parse(`${(r['timestamp'] ?? '').replace(' ', 'T')}Z`);
  const features = Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])]));
  const target = Number(label);
  if (!Number.isFinite(time) || Object.values(features).some((v) => !Number.isFinite(v)) || !(target >= 0))
    throw new SimulatorError('DATA_INVALID', `${file}: row id ${r['id']} is not a complete data row`);
  return { id: r['id'] ?? '', time, features, label: target };
}

/** Both periods in time order. */
export function loadStoryData(dir = DATA_DIR): StoryData {
  const refFile = path.join(dir, 'california_housing_reference.csv');
  const anaFile = path.join(dir, 'california_housing_analysis.csv');
  const truth = new Map(
    csv(path.join(dir, 'california_housing_analysis_gt.csv')).map((r) => [r['id'], r['clf_target']]),
  );
  const byTime = (a: StoryRow, b: StoryRow) => a.time - b.time;
  return {
    reference: csv(refFile)
      .map((r) => toRow(r, r['clf_target'], refFile))
      .sort(byTime),
    analysis: csv(anaFile)
      .map((r) => toRow(r, truth.get(r['id']), anaFile))
      .sort(byTime),
  };
}
