/** Why one row was not scored; the rest of its batch is scored as usual. */
export type RowFailureReason =
  /** The row is not a plain object (null, a number, an array). */
  | 'not_an_object'
  /** The feature is absent, `undefined` or `null`. */
  | 'missing'
  /** A string where a number is declared, a number where a categorical string is, an object. */
  | 'wrong_type'
  /** NaN, +Infinity or -Infinity. */
  | 'not_finite'
  /** Finite, but beyond float32 (|x| > 3.4028234663852886e38), so the graph would see Infinity. */
  | 'out_of_range'
  /** A string feature's value that is not one of its declared categories. */
  | 'unknown_category'
  /** The model answered a label outside the declared classes. */
  | 'label_not_in_classes';

export interface RowFailure {
  /** The row's index in the batch as given. */
  readonly row: number;
  /** The feature at fault; null for failures of the whole row or of the model's output. */
  readonly feature: string | null;
  readonly reason: RowFailureReason;
  /** One line for a person, e.g. `row 12, feature 'MedInc': not a finite number (NaN)`. */
  readonly message: string;
}

const MAX_SHOWN = 64;

/** A value as a message shows it: short, whatever its size. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} chars)` : text;
}

export function failure(
  row: number,
  feature: string | null,
  reason: RowFailureReason,
  detail: string,
): RowFailure {
  const where = feature === null ? `row ${row}` : `row ${row}, feature '${feature}'`;
  return { row, feature, reason, message: `${where}: ${detail}` };
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
