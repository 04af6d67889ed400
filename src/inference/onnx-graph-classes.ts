/**
 * Reads a classifier's classes off its ONNX graph, for an artifact whose metadata names none:
 * every ONNX-ML classifier (what skl2onnx writes for a scikit-learn classifier) lists them, in
 * probability-column order, on its `ai.onnx.ml` node. The walk is ModelProto.graph (7) →
 * GraphProto.node (1) → NodeProto { op_type 4, attribute 5, domain 7 } → AttributeProto
 * { name 1, ints 8, strings 9 }; everything else is skipped by its length, and subgraphs and
 * functions are not entered, so the work is one pass over the bytes at a fixed depth.
 */
import { MAX_CLASSES } from './metadata.js';
import { eachField, Reader, text, WIRE_LENGTH, WIRE_VARINT, type Span } from './onnx-metadata-props.js';

const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTRIBUTE_NAME = 1;
const ATTRIBUTE_INTS = 8;
const ATTRIBUTE_STRINGS = 9;

const ML_DOMAIN = 'ai.onnx.ml';

/** The `ai.onnx.ml` operators whose `classlabels_*` attribute lists the classes (ZipMap repeats them). */
export const CLASSIFIER_OPS: readonly string[] = [
  'LinearClassifier',
  'SVMClassifier',
  'TreeEnsembleClassifier',
  'ZipMap',
];
const INT_LABELS: ReadonlySet<string> = new Set(['classlabels_ints', 'classlabels_int64s']);
const STRING_LABELS = 'classlabels_strings';

/** One more than metadata accepts: an over-long list is still refused there, without holding millions of labels. */
const MAX_LABELS = MAX_CLASSES + 1;

/**
 * The classes the graph's classifier nodes list, integers as their decimal text (as classes are
 * stored); undefined when no node lists any, or two nodes list different classes. Bytes that are
 * not a well-formed protobuf are refused as `ARTIFACT_INVALID`.
 */
export function readGraphClasses(bytes: Uint8Array): string[] | undefined {
  let classes: string[] | undefined;
  let agreed = true;
  eachNode(bytes, (node) => {
    const labels = agreed ? nodeLabels(bytes, node) : undefined;
    if (labels === undefined) return;
    if (classes === undefined) classes = labels;
    else agreed = sameList(classes, labels);
  });
  return agreed ? classes : undefined;
}

function eachNode(bytes: Uint8Array, visit: (node: Span) => void): void {
  eachField(bytes, [0, bytes.length], (field, wire, model) => {
    if (field !== MODEL_GRAPH || wire !== WIRE_LENGTH) return false;
    eachField(bytes, model.span(), (graphField, graphWire, graph) => {
      if (graphField !== GRAPH_NODE || graphWire !== WIRE_LENGTH) return false;
      visit(graph.span());
      return true;
    });
    return true;
  });
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((label, i) => label === b[i]);

/** The classes on a classifier node; undefined for any other node, or one that lists none. */
function nodeLabels(bytes: Uint8Array, node: Span): string[] | undefined {
  if (!isClassifier(bytes, node)) return undefined;
  let ints: string[] = [];
  let strings: string[] = [];
  eachField(bytes, node, (field, wire, reader) => {
    if (field !== NODE_ATTRIBUTE || wire !== WIRE_LENGTH) return false;
    const attribute = reader.span();
    const name = attributeName(bytes, attribute);
    if (name === STRING_LABELS) strings = stringValues(bytes, attribute);
    else if (INT_LABELS.has(name)) ints = intValues(bytes, attribute);
    return true;
  });
  // ONNX allows one of the two: a node with both lists no one set of classes.
  if (ints.length > 0 && strings.length > 0) return undefined;
  const labels = ints.length > 0 ? ints : strings;
  return labels.length > 0 ? labels : undefined;
}

/** Read in a pass of its own: the domain (field 7) is written after the attributes (field 5). */
function isClassifier(bytes: Uint8Array, node: Span): boolean {
  let op = '';
  let domain = '';
  eachField(bytes, node, (field, wire, reader) => {
    if (wire !== WIRE_LENGTH) return false;
    if (field === NODE_OP_TYPE) op = text(bytes, reader.span(), 'a node op_type');
    else if (field === NODE_DOMAIN) domain = text(bytes, reader.span(), 'a node domain');
    else return false;
    return true;
  });
  return domain === ML_DOMAIN && CLASSIFIER_OPS.includes(op);
}

function attributeName(bytes: Uint8Array, attribute: Span): string {
  let name = '';
  eachField(bytes, attribute, (field, wire, reader) => {
    if (field !== ATTRIBUTE_NAME || wire !== WIRE_LENGTH) return false;
    name = text(bytes, reader.span(), 'an attribute name');
    return true;
  });
  return name;
}

function stringValues(bytes: Uint8Array, attribute: Span): string[] {
  const values: string[] = [];
  eachField(bytes, attribute, (field, wire, reader) => {
    if (field !== ATTRIBUTE_STRINGS || wire !== WIRE_LENGTH) return false;
    const value = reader.span();
    if (values.length < MAX_LABELS) values.push(text(bytes, value, 'a class label'));
    return true;
  });
  return values;
}

/** `ints` one varint per field (how ONNX writes them, proto2) or packed in one field (also valid protobuf). */
function intValues(bytes: Uint8Array, attribute: Span): string[] {
  const values: string[] = [];
  const add = (reader: Reader) => {
    const value = reader.varint64();
    if (values.length < MAX_LABELS) values.push(value.toString());
  };
  eachField(bytes, attribute, (field, wire, reader) => {
    if (field !== ATTRIBUTE_INTS) return false;
    if (wire === WIRE_VARINT) add(reader);
    else if (wire === WIRE_LENGTH) {
      const [start, end] = reader.span();
      const packed = new Reader(bytes, start, end);
      while (packed.offset < packed.end) add(packed);
    } else return false;
    return true;
  });
  return values;
}
