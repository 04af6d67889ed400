import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

/**
 * The Titanic data of test/fixtures/drift (its README says where it comes from) as prediction
 * events: the 418 analysis rows as two days, the second corrupted the way the data-quality
 * tests expect (a new Embarked category, Pclass as text and Sex as a number, an SibSp count
 * never seen, Fare gone, a new `deck` column).
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures/drift');
const NUMBERS = ['Pclass', 'Age', 'SibSp', 'Parch', 'Fare'];
const TEXTS = ['Sex', 'Embarked'];
export const DAY = 86_400_000;

export function titanicCsv(name: 'titanic_analysis.csv' | 'titanic_reference.csv'): Record<string, string>[] {
  return parse<Record<string, string>>(readFileSync(path.join(fixtures, name)), { columns: true });
}

export function titanicFeatures(r: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of NUMBERS) out[f] = r[f] === '' ? null : Number(r[f]);
  for (const f of TEXTS) out[f] = r[f] === '' ? null : r[f];
  return out;
}

export interface CorruptedDaysOptions {
  modelId: string;
  idPrefix: string;
  /** Midnight of the first (clean) day, epoch milliseconds. */
  start: number;
  /** Corrupts the second day's row further (k: its index within the day). */
  corruptMore?: (features: Record<string, unknown>, k: number) => void;
}

/** The analysis rows as two days of predictions, the second day corrupted. */
export function corruptedTitanicDays(options: CorruptedDaysOptions) {
  const rows = titanicCsv('titanic_analysis.csv');
  const half = Math.ceil(rows.length / 2);
  return rows.map((r, i) => {
    const day = i < half ? 0 : 1;
    const k = i - day * half;
    const f = titanicFeatures(r);
    if (day === 1) {
      if (k % 5 === 0) f['Embarked'] = 'X';
      if (k % 10 === 1) f['Pclass'] = 'first';
      if (k % 10 === 2) f['SibSp'] = 20;
      if (k % 10 === 3) f['Sex'] = 1;
      delete f['Fare'];
      f['deck'] = 'B';
      options.corruptMore?.(f, k);
    }
    return {
      prediction_id: `${options.idPrefix}${r['PassengerId']}`,
      model_id: options.modelId,
      model_version: '1',
      timestamp: options.start + day * DAY + Math.floor((k * DAY) / half),
      features: f,
      prediction: 0,
    };
  });
}
