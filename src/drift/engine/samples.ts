/**
 * Turning rows (uploaded through the API, or read from a file by the CLI) into raw columns, and
 * raw columns into a reference. The service's SQL path ends in the same `summarizeColumn`.
 */
import { inferKind, numericalReference } from '../statistics/index.js';
import { columnKey, type ColumnRole, type RawColumn, type ReferenceColumn } from './types.js';

/** A bad value in an input row; `field` names it (e.g. `rows[12].income`). */
export class RowError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RowError';
  }
}

/** Keys of a flat row that are not features. */
export const SPECIAL_COLUMNS: ReadonlyMap<string, ColumnRole> = new Map([
  ['prediction', 'prediction'],
  ['score', 'score'],
  ['label', 'label'],
]);

interface Accumulating {
  role: ColumnRole;
  column: string;
  numbers: number[];
  texts: Map<string, number>;
}

/**
 * Collects rows column by column. A row is `{ feature…, prediction?, score?, label? }`, or
 * `{ features: {…}, prediction?, score?, label? }`. Values: finite numbers, strings, booleans
 * (kept as 'true'/'false') and null. NaN and ±Infinity are rejected (JSON cannot carry NaN, and a
 * literal like 1e999 parses to Infinity): they have no place in a distribution, and dropping them
 * silently would hide a broken producer. Like the collectors, a prediction or label given as a
 * numeric string is a number.
 */
export interface SampleLimits {
  /** Feature columns, at most. @default unlimited */
  maxFeatureColumns?: number;
  /** Characters of a column name, at most. @default unlimited */
  maxNameLength?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A name as it may appear in a message: hostile names can be 100 KB long. */
export function shortName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}

export class SampleBuilder {
  private readonly columns = new Map<string, Accumulating>();
  private features = 0;
  rows = 0;

  constructor(
    private readonly keep: (column: string, role: ColumnRole) => boolean = () => true,
    private readonly limits: SampleLimits = {},
  ) {}

  addRow(row: unknown, where: string): void {
    if (!isRecord(row)) throw new RowError(where, 'must be an object');
    this.rows++;
    for (const [name, value] of Object.entries(row)) {
      if (name === 'features' && isRecord(value)) {
        for (const [feature, v] of Object.entries(value)) {
          // `x` and `features.x` would be one column counted twice.
          if (feature !== 'features' && !SPECIAL_COLUMNS.has(feature) && Object.hasOwn(row, feature)) {
            throw new RowError(
              `${where}.features.${shortName(feature)}`,
              `ambiguous: the row also has a top-level '${shortName(feature)}'; give each feature once`,
            );
          }
          this.add('feature', feature, v, `${where}.features.${shortName(feature)}`);
        }
        continue;
      }
      this.add(SPECIAL_COLUMNS.get(name) ?? 'feature', name, value, `${where}.${shortName(name)}`);
    }
  }

  add(role: ColumnRole, column: string, value: unknown, where: string): void {
    if (value === null || value === undefined || !this.keep(column, role)) return;
    const target = this.column(role, column, where);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new RowError(where, `must be a finite number, got ${value}`);
      target.numbers.push(value);
    } else if (typeof value === 'boolean') {
      if (role === 'score') throw new RowError(where, 'score must be a number');
      addCount(target.texts, String(value), 1);
    } else if (typeof value === 'string') {
      if (role === 'score') throw new RowError(where, 'score must be a number');
      const numeric = role === 'feature' ? undefined : numericText(value);
      if (numeric === undefined) addCount(target.texts, value, 1);
      else target.numbers.push(numeric);
    } else {
      throw new RowError(
        where,
        `must be a number, string, boolean or null, got ${Array.isArray(value) ? 'an array' : typeof value}`,
      );
    }
  }

  build(): RawColumn[] {
    return [...this.columns.values()].map((c) => ({
      role: c.role,
      column: c.column,
      numbers: Float64Array.from(c.numbers).sort(),
      texts: c.texts,
    }));
  }

  private column(role: ColumnRole, column: string, where: string): Accumulating {
    const key = columnKey(role, column);
    let target = this.columns.get(key);
    if (!target) {
      const { maxNameLength, maxFeatureColumns } = this.limits;
      if (maxNameLength !== undefined && column.length > maxNameLength) {
        throw new RowError(
          where,
          `the column name is ${column.length} characters long; at most ${maxNameLength} are allowed`,
        );
      }
      if (role === 'feature' && maxFeatureColumns !== undefined && ++this.features > maxFeatureColumns) {
        throw new RowError(
          where,
          `a reference may hold at most ${maxFeatureColumns} feature columns; this one is column ${this.features}`,
        );
      }
      target = { role, column, numbers: [], texts: new Map() };
      this.columns.set(key, target);
    }
    return target;
  }
}

/**
 * The collectors' `DECIMAL` (src/collectors/rows.ts, which drift may not import: capabilities meet
 * through their index): `Number` also reads '0x10', '0b11' and '0o7', which live traffic keeps as text.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The collectors' rule for predictions and labels: a trimmed, finite decimal string is a number. */
function numericText(value: string): number | undefined {
  const trimmed = value.trim();
  const n = DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function addCount(map: Map<string, number>, key: string, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

/** Category counts of sorted numbers, each number as `String(n)` (so 0 and -0 are one category). */
export function numberCategories(
  sorted: Float64Array,
  into = new Map<string, number>(),
): Map<string, number> {
  let k = 0;
  while (k < sorted.length) {
    const v = sorted[k]!;
    let end = k + 1;
    while (end < sorted.length && sorted[end] === v) end++;
    addCount(into, String(v), end - k);
    k = end;
  }
  return into;
}

function countDistinct(sorted: Float64Array): number {
  let distinct = 0;
  for (let k = 0; k < sorted.length; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) distinct++;
  return distinct;
}

/**
 * Fixes what every window of this column is measured against (SPEC 5): value type (any text makes
 * it text), kind (text → categorical; numbers with at most 20 distinct values → categorical),
 * and, for numbers, the sorted sample with its decile bin edges, bin counts and std.
 */
export function summarizeColumn(raw: RawColumn, rows: number): ReferenceColumn {
  let textCount = 0;
  for (const c of raw.texts.values()) textCount += c;
  const n = raw.numbers.length + textCount;
  const base = { role: raw.role, column: raw.column, n, nulls: Math.max(0, rows - n) };
  if (raw.texts.size > 0) {
    const categories = numberCategories(raw.numbers, new Map(raw.texts));
    return {
      ...base,
      valueType: 'text',
      kind: 'categorical',
      distinct: categories.size,
      numerical: undefined,
      categories,
    };
  }
  const distinct = countDistinct(raw.numbers);
  const kind = inferKind(distinct, true);
  return {
    ...base,
    valueType: 'number',
    kind,
    distinct,
    numerical: raw.numbers.length > 0 ? numericalReference(raw.numbers) : undefined,
    categories: kind === 'categorical' ? numberCategories(raw.numbers) : new Map<string, number>(),
  };
}

const overriddenCategories = new WeakMap<ReferenceColumn, Map<string, number>>();

/** A column's reference categories, derived once when a policy makes a numerical column categorical. */
export function referenceCategories(ref: ReferenceColumn): Map<string, number> {
  if (ref.kind === 'categorical' || ref.valueType === 'text') return ref.categories;
  let derived = overriddenCategories.get(ref);
  if (!derived) {
    derived = numberCategories(ref.numerical?.sorted ?? new Float64Array(0));
    overriddenCategories.set(ref, derived);
  }
  return derived;
}
