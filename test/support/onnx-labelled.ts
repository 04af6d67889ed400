/**
 * A classifier over 2 float features with labels other than 0/1, as ONNX bytes written here:
 * `probabilities` `[N, 2]` = softmax(input), `label` `[N]` = the argmax's class, either a string
 * from `labels` (Gather) or the int64 argmax plus `offset` (class ids beyond int32).
 */

import { bytes, FLOAT, int, INT64, message, node, STRING, valueInfo } from './onnx-wire.js';

export type LabelledClassifier = { labels: readonly [string, string] } | { offset: bigint };

export function labelledClassifierOnnx(spec: LabelledClassifier): Buffer {
  const strings = 'labels' in spec;
  const label = strings
    ? [
        node('Gather', ['names', 'idx'], 'label', { axis: 0 }),
        message(5, int(1, 2), int(2, STRING), ...spec.labels.map((l) => bytes(6, l)), bytes(8, 'names')),
      ]
    : [
        node('Add', ['idx', 'offset'], 'label'),
        message(
          5,
          int(1, 1),
          int(2, INT64),
          bytes(8, 'offset'),
          bytes(9, Buffer.from(BigInt64Array.of(spec.offset).buffer)),
        ),
      ];
  const graph = Buffer.concat([
    node('Softmax', ['input'], 'probabilities', { axis: 1 }),
    node('ArgMax', ['probabilities'], 'idx', { axis: 1, keepdims: 0 }),
    ...label,
    bytes(2, 'labelled'),
    valueInfo(11, 'input', FLOAT, ['N', 2]),
    valueInfo(12, 'label', strings ? STRING : INT64, ['N']),
    valueInfo(12, 'probabilities', FLOAT, ['N', 2]),
  ]);
  return Buffer.concat([
    int(1, 8),
    bytes(2, 'modelwatch-test'),
    bytes(7, graph),
    message(8, bytes(1, ''), int(2, 13)),
  ]);
}
