/**
 * Checks that a loaded graph is one the core can score with the given metadata: one float input
 * `[N, F]` whose F is the number of declared graph columns, and a classifier's label output `[N]`
 * and probability output `[N, C]` with C the number of declared classes, or a regression model's
 * one value output `[N]` or `[N, 1]`. A registration also checks declared classes against those
 * the graph's classifier node lists (`checkGraphClasses`).
 */
import type { InferenceSession } from 'onnxruntime-node';
import { InferenceError } from './errors.js';
import type { ModelMetadata } from './metadata.js';
import { readGraphClasses } from './onnx-graph-classes.js';

type ValueMetadata = InferenceSession.ValueMetadata;

export type LabelType = 'int64' | 'int32' | 'string';
export type ProbabilityType = 'float32' | 'float64';

/** A classifier's names and types the scorer uses, once checked. */
export interface ClassifierBinding {
  readonly input: string;
  readonly label: string;
  readonly labelType: LabelType;
  readonly probabilities: string;
  readonly probabilityType: ProbabilityType;
}

/** A regression model's: one float output, `[N]` or `[N, 1]`. */
export interface RegressionBinding {
  readonly input: string;
  readonly value: string;
  readonly valueType: ProbabilityType;
  // Absent, so callers may read a classifier's fields off either kind.
  readonly label?: undefined;
  readonly labelType?: undefined;
  readonly probabilities?: undefined;
  readonly probabilityType?: undefined;
}

export type GraphBinding = ClassifierBinding | RegressionBinding;

const LABEL_TYPES: readonly string[] = ['int64', 'int32', 'string'];
const PROBABILITY_TYPES: readonly string[] = ['float32', 'float64'];

const mismatch = (message: string) =>
  new InferenceError('GRAPH_MISMATCH', `graph does not match the metadata: ${message}`);

function shapeText(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'number' && d >= 0 ? String(d) : 'N')).join(', ')}]`;
}

const isDynamic = (dim: number | string | undefined) =>
  typeof dim === 'string' || (typeof dim === 'number' && dim < 0);

function checkInput(inputs: readonly ValueMetadata[], metadata: ModelMetadata): string {
  if (inputs.length !== 1) {
    throw mismatch(
      `expected one input, the graph has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`,
    );
  }
  const input = inputs[0] as ValueMetadata;
  if (metadata.input !== null && metadata.input !== input.name) {
    throw mismatch(`metadata names input '${metadata.input}', the graph's input is '${input.name}'`);
  }
  if (!input.isTensor) throw mismatch(`input '${input.name}' is not a tensor`);
  if (input.type !== 'float32') throw mismatch(`input '${input.name}' is ${input.type}, expected float32`);
  const f = metadata.columns.length;
  const shape = input.shape;
  if (shape.length !== 2 || !isDynamic(shape[0]) || shape[1] !== f) {
    throw mismatch(
      `input '${input.name}' has shape ${shapeText(shape)}, expected [N, ${f}] for the ${f} declared graph features`,
    );
  }
  return input.name;
}

function findOutput(
  outputs: readonly ValueMetadata[],
  name: string,
  role: string,
): ValueMetadata & { isTensor: true } {
  const output = outputs.find((o) => o.name === name);
  if (!output) {
    // skl2onnx's default export (zipmap on) names its outputs `output_label` and
    // `output_probability`, a sequence of maps: a user sees no output of the expected name, and
    // the remedy is the export option, not a rename.
    const maps = outputs.filter((o) => !o.isTensor).map((o) => `'${o.name}'`);
    const zipmap =
      maps.length === 0
        ? ''
        : `; ${maps.join(', ')} is not a tensor: was the model exported with zipmap on? Export it with zipmap off`;
    throw mismatch(
      `no ${role} output '${name}' (the graph's outputs: ${outputs.map((o) => o.name).join(', ')}${zipmap})`,
    );
  }
  if (!output.isTensor)
    throw mismatch(`${role} output '${name}' is not a tensor (was the model exported with zipmap on?)`);
  return output;
}

function bindValue(outputs: readonly ValueMetadata[], input: string, name: string): RegressionBinding {
  const value = findOutput(outputs, name, 'value');
  if (!PROBABILITY_TYPES.includes(value.type))
    throw mismatch(`value output '${value.name}' is ${value.type}, expected float32 or float64`);
  if (value.shape.length !== 1 && !(value.shape.length === 2 && value.shape[1] === 1)) {
    throw mismatch(
      `value output '${value.name}' has shape ${shapeText(value.shape)}, expected [N] or [N, 1]`,
    );
  }
  return { input, value: value.name, valueType: value.type as ProbabilityType };
}

/** Throws `GRAPH_MISMATCH` naming the first difference. */
export function bindGraph(
  session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>,
  metadata: ModelMetadata,
): GraphBinding {
  const input = checkInput(session.inputMetadata, metadata);
  if (metadata.task === 'regression') return bindValue(session.outputMetadata, input, metadata.outputs.value);
  const label = findOutput(session.outputMetadata, metadata.outputs.label, 'label');
  if (!LABEL_TYPES.includes(label.type))
    throw mismatch(`label output '${label.name}' is ${label.type}, expected int64, int32 or string`);
  if (label.shape.length !== 1 && !(label.shape.length === 2 && label.shape[1] === 1)) {
    throw mismatch(`label output '${label.name}' has shape ${shapeText(label.shape)}, expected [N]`);
  }
  const probabilities = findOutput(session.outputMetadata, metadata.outputs.probabilities, 'probability');
  if (!PROBABILITY_TYPES.includes(probabilities.type)) {
    throw mismatch(
      `probability output '${probabilities.name}' is ${probabilities.type}, expected float32 or float64`,
    );
  }
  const c = metadata.classes.length;
  const shape = probabilities.shape;
  if (shape.length !== 2 || !(shape[1] === c || isDynamic(shape[1]))) {
    throw mismatch(
      `probability output '${probabilities.name}' has shape ${shapeText(shape)}, expected [N, ${c}] for the ${c} declared classes`,
    );
  }
  return {
    input,
    label: label.name,
    labelType: label.type as LabelType,
    probabilities: probabilities.name,
    probabilityType: probabilities.type as ProbabilityType,
  };
}

/**
 * Throws `GRAPH_MISMATCH` when `classes` are not, in order, those the graph's classifier node
 * lists: a score is read by its class's position and a label matched by its name, so a reordered
 * list would silently score another class and a renamed one fail every row. A graph that lists
 * none (or two differing lists) is not checked.
 */
export function checkGraphClasses(bytes: Uint8Array, classes: readonly string[]): void {
  const own = readGraphClasses(bytes);
  if (own === undefined || (own.length === classes.length && own.every((c, i) => c === classes[i]))) return;
  throw mismatch(
    `classes ${JSON.stringify(classes)} are not the graph's: its classifier node lists ${JSON.stringify(own)}, in probability-column order`,
  );
}
