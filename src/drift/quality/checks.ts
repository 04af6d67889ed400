/** The pure part of data quality: shares and flags of one window from ClickHouse's counts. */
import { COLUMN_MISSING_SIGNIFICANCE, MAX_NEW_COLUMNS, type QualitySettings } from './settings.js';
import type {
  ColumnCounts,
  ColumnQuality,
  QualityBucket,
  QualityCheck,
  QualityReferenceColumn,
} from './types.js';

const NONE: ColumnCounts = {
  numbers: 0,
  texts: 0,
  outside: 0,
  unseenNumbers: 0,
  unseenTexts: 0,
  top: [],
};

function ratio(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/** One reference column in a window of `rows` rows. */
export function referenceColumnQuality(
  ref: QualityReferenceColumn,
  counts: ColumnCounts | undefined,
  rows: number,
  settings: QualitySettings,
): ColumnQuality {
  const c = counts ?? NONE;
  // A number in a text column is a category when the reference knows it as one; else the wrong type.
  const wrong = ref.valueType === 'number' ? c.texts : c.unseenNumbers;
  const values = c.numbers + c.texts;
  const missingRate = ratio(Math.max(0, rows - values), rows);
  let unseenShare: number | null = null;
  let outOfRange: number | null = null;
  if (ref.kind === 'categorical') {
    const unseen = ref.valueType === 'number' ? c.unseenNumbers : c.unseenTexts;
    unseenShare = ratio(unseen, values - wrong);
  } else if (ref.valueType === 'number') {
    outOfRange = ratio(c.outside, c.numbers);
  }
  const wrongShare = ratio(wrong, rows);
  // No value at all is news only when the reference makes it unlikely: a sparse (optional) feature
  // is often absent from a small window.
  const gone =
    rows > 0 && values === 0 && ref.hadValues && ref.missingRate ** rows < COLUMN_MISSING_SIGNIFICANCE;
  const flags: QualityCheck[] = [];
  if (missingRate - ref.missingRate > settings.missingRate) flags.push('missing');
  if (wrongShare > settings.wrongTypeShare) flags.push('wrong_type');
  if (unseenShare !== null && unseenShare > settings.unseenShare) flags.push('unseen');
  if (outOfRange !== null && outOfRange > settings.outOfRangeShare) flags.push('out_of_range');
  if (gone) flags.push('column_missing');
  return {
    column: ref.column,
    status: gone ? 'gone' : 'reference',
    value_type: ref.valueType,
    kind: ref.kind,
    values,
    missing_rate: missingRate,
    wrong_type_share: wrongShare,
    unseen_share: unseenShare,
    top_unseen: ref.kind === 'categorical' ? c.top : [],
    out_of_range_share: outOfRange,
    flags,
    flagged: flags.length > 0,
  };
}

/** A column the reference does not have. */
export function newColumnQuality(
  column: string,
  counts: ColumnCounts,
  rows: number,
  settings: QualitySettings,
): ColumnQuality {
  const values = counts.numbers + counts.texts;
  const flags: QualityCheck[] = settings.flagNewColumns ? ['new_column'] : [];
  return {
    column,
    status: 'new',
    value_type: null,
    kind: null,
    values,
    missing_rate: ratio(Math.max(0, rows - values), rows),
    wrong_type_share: 0,
    unseen_share: null,
    top_unseen: [],
    out_of_range_share: null,
    flags,
    flagged: flags.length > 0,
  };
}

/**
 * One window: every reference column (in reference order), then the new columns, most frequent
 * first, at most MAX_NEW_COLUMNS of them.
 */
export function windowQuality(
  window: { start: number; end: number; count: number },
  reference: readonly QualityReferenceColumn[],
  counts: ReadonlyMap<string, ColumnCounts>,
  settings: QualitySettings,
): QualityBucket {
  const known = new Set(reference.map((r) => r.column));
  const columns = reference.map((r) =>
    referenceColumnQuality(r, counts.get(r.column), window.count, settings),
  );
  const fresh = [...counts]
    .filter(([column, c]) => !known.has(column) && c.numbers + c.texts > 0)
    .sort(([a, x], [b, y]) => y.numbers + y.texts - (x.numbers + x.texts) || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_NEW_COLUMNS);
  for (const [column, c] of fresh) columns.push(newColumnQuality(column, c, window.count, settings));
  return {
    start: new Date(window.start).toISOString(),
    end: new Date(window.end).toISOString(),
    count: window.count,
    flagged_columns: columns.filter((c) => c.flagged).length,
    columns,
  };
}
