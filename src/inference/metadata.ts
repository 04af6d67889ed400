/**
 * A model's metadata (SPEC 7): feature order and types, categorical encodings, classes,
 * positive class, output names, task. The JSON is snake_case, as the registry body is; the same
 * object lives in the ONNX `metadata_props["modelwatch"]` or in a sidecar file.
 */
import { z } from 'zod';
import { InferenceError } from './errors.js';

/** The `metadata_props` key the core reads. */
export const METADATA_PROPS_KEY = 'modelwatch';
/** Bounds on hostile metadata; a real tabular model is far inside them. */
export const MAX_FEATURES = 10_000;
export const MAX_CLASSES = 1_000;
/** Categories of one string feature (ZIP codes, product ids): an ordinal index, exact in float32. */
export const MAX_CATEGORIES = 100_000;
const MAX_NAME = 256;

const name = z.string().min(1).max(MAX_NAME);

const featureSchema = z
  .object({
    name,
    type: z.enum(['number', 'string']),
    /** Ordinal encoding of a string feature: the graph sees the category's index as a float. */
    categories: z.array(z.string().max(MAX_NAME)).min(1).max(MAX_CATEGORIES).optional(),
  })
  .refine((f) => f.type === 'string' || f.categories === undefined, {
    message: 'categories are only for features of type "string"',
    path: ['categories'],
  })
  .refine((f) => f.categories === undefined || new Set(f.categories).size === f.categories.length, {
    message: 'categories must be unique',
    path: ['categories'],
  });

const metadataSchema = z
  .object({
    format_version: z.literal(1).optional(),
    name: name.optional(),
    task: z.enum(['binary_classification', 'multiclass_classification', 'regression']),
    /** Required for classifiers; a regression model has none. */
    classes: z.array(name).min(2).max(MAX_CLASSES).optional(),
    positive_class: name.optional(),
    features: z.array(featureSchema).min(1).max(MAX_FEATURES),
    input: name.optional(),
    outputs: z
      .object({
        label: name.default('label'),
        probabilities: name.default('probabilities'),
        /** A regression model's one output, `[N]` or `[N, 1]`. */
        value: name.default('value'),
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    if (m.task === 'regression') {
      if (m.classes !== undefined) issue(['classes'], 'a regression model has no classes');
      if (m.positive_class !== undefined)
        issue(['positive_class'], 'a regression model has no positive class');
    } else if (m.classes === undefined) {
      issue(['classes'], 'required for a classification model');
    }
    const classes = m.classes ?? [];
    if (new Set(classes).size !== classes.length) issue(['classes'], 'classes must be unique');
    if (m.task === 'binary_classification' && classes.length !== 2)
      issue(['classes'], 'a binary model has exactly 2 classes');
    if (m.task === 'binary_classification' && m.positive_class === undefined)
      issue(['positive_class'], 'required for a binary model');
    if (m.positive_class !== undefined && m.task !== 'regression' && !classes.includes(m.positive_class)) {
      issue(['positive_class'], `'${m.positive_class}' is not one of classes`);
    }
    const seen = new Set<string>();
    m.features.forEach((f, i) => {
      if (seen.has(f.name)) issue(['features', i, 'name'], `duplicate feature '${f.name}'`);
      seen.add(f.name);
    });
    if (!m.features.some(isGraphColumn))
      issue(['features'], 'no feature of type "number" (or "string" with categories) for the graph input');
  });

export type MetadataJson = z.input<typeof metadataSchema>;

export interface FeatureSpec {
  readonly name: string;
  readonly type: 'number' | 'string';
  readonly categories?: readonly string[];
}

export interface ModelMetadata {
  readonly name: string | null;
  readonly task: 'binary_classification' | 'multiclass_classification' | 'regression';
  /** The declared classes; none for a regression model. */
  readonly classes: readonly string[];
  /** Required for binary models; a multiclass model may name one. */
  readonly positiveClass: string | null;
  /** Every declared feature, in the declared order. */
  readonly features: readonly FeatureSpec[];
  /** The features fed to the graph, in column order: numbers, and strings with categories. */
  readonly columns: readonly FeatureSpec[];
  /** The graph input's name; null means "the graph's only input". */
  readonly input: string | null;
  readonly outputs: { readonly label: string; readonly probabilities: string; readonly value: string };
}

function isGraphColumn(f: { type: string; categories?: readonly string[] | undefined }): boolean {
  return f.type === 'number' || f.categories !== undefined;
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`),
    'metadata',
  );
}

/** Validates metadata (already parsed JSON); `source` says where it came from, for the message. */
export function parseMetadata(value: unknown, source: string): ModelMetadata {
  const parsed = metadataSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? `${fieldPath(first.path)}: ${first.message}` : 'invalid';
    throw new InferenceError('METADATA_INVALID', `model metadata (${source}) ${where}`);
  }
  const m = parsed.data;
  const features: FeatureSpec[] = m.features.map((f) =>
    f.categories === undefined
      ? { name: f.name, type: f.type }
      : { name: f.name, type: f.type, categories: f.categories },
  );
  return {
    name: m.name ?? null,
    task: m.task,
    classes: m.classes ?? [],
    positiveClass: m.positive_class ?? null,
    features,
    columns: features.filter(isGraphColumn),
    input: m.input ?? null,
    outputs: m.outputs ?? { label: 'label', probabilities: 'probabilities', value: 'value' },
  };
}

/** Parses metadata from JSON text (a sidecar file or the `metadata_props` value). */
export function parseMetadataJson(text: string, source: string): ModelMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InferenceError('METADATA_INVALID', `model metadata (${source}) is not valid JSON`, { cause });
  }
  return parseMetadata(value, source);
}
