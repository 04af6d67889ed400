/** References and windows built from rows held in memory (API uploads, the offline CLI). */
import { numberCategories, summarizeColumn } from './samples.js';
import type { ColumnPlan } from './evaluate.js';
import {
  columnKey,
  type RawColumn,
  type Reference,
  type ReferenceInfo,
  type WindowColumn,
  type WindowSample,
} from './types.js';

export function referenceFromRaw(info: ReferenceInfo, columns: readonly RawColumn[]): Reference {
  return { ...info, columns: columns.map((c) => summarizeColumn(c, info.rows)) };
}

/**
 * A window from raw columns, in the form each plan needs: numerical columns keep their numbers
 * (a text value in a numerical column has no place on the axis and is left out); categorical
 * columns count texts and numbers (as `String(n)`) alike.
 */
export function windowFromRaw(
  plans: readonly ColumnPlan[],
  columns: readonly RawColumn[],
  window: { start: number; end: number; count: number },
): WindowSample {
  const byKey = new Map(columns.map((c) => [columnKey(c.role, c.column), c]));
  const out = new Map<string, WindowColumn>();
  for (const plan of plans) {
    const raw = byKey.get(plan.key);
    if (!raw) continue;
    out.set(
      plan.key,
      plan.needs === 'sorted'
        ? { sorted: raw.numbers }
        : { categories: numberCategories(raw.numbers, new Map(raw.texts)) },
    );
  }
  return { ...window, columns: out };
}
