import type { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { bindGraph } from '../../../src/inference/graph-check.js';
import { loadModel, parseMetadata } from '../../../src/inference/index.js';
import { bytes, FLOAT, int, INT64, message, node, valueInfo } from '../../support/onnx-wire.js';
import { CALIFORNIA_FEATURES, modelBytes, sidecar } from './models.js';

type Value = InferenceSession.ValueMetadata;
const tensor = (name: string, type: string, shape: (number | string)[]): Value => ({
  name,
  isTensor: true,
  type: type as 'float32',
  shape,
});
const skl2onnx = {
  inputs: [tensor('input', 'float32', ['N', 8])],
  outputs: [tensor('label', 'int64', ['N']), tensor('probabilities', 'float32', ['N', 2])],
};
const california = parseMetadata(sidecar('california-logistic'), 'test');

function mismatch(inputs: Value[], outputs: Value[], metadata = california): string {
  try {
    bindGraph({ inputMetadata: inputs, outputMetadata: outputs }, metadata);
  } catch (err) {
    expect(err).toMatchObject({ code: 'GRAPH_MISMATCH' });
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('graph inputs and outputs against the metadata', () => {
  it('the skl2onnx shape binds', () => {
    expect(
      bindGraph({ inputMetadata: skl2onnx.inputs, outputMetadata: skl2onnx.outputs }, california).input,
    ).toBe('input');
  });

  it('each mismatch is named', () => {
    const { inputs, outputs } = skl2onnx;
    expect(mismatch([...inputs, tensor('extra', 'float32', ['N', 1])], outputs)).toMatch(
      /expected one input, the graph has 2 \(input, extra\)/,
    );
    expect(mismatch([tensor('input', 'double', ['N', 8])], outputs)).toMatch(
      /input 'input' is double, expected float32/,
    );
    expect(mismatch([tensor('input', 'float32', ['N', 7])], outputs)).toMatch(
      /shape \[N, 7\], expected \[N, 8\] for the 8 declared graph features/,
    );
    expect(mismatch([tensor('input', 'float32', [1, 8])], outputs)).toMatch(
      /shape \[1, 8\], expected \[N, 8\]/,
    );
    expect(mismatch([tensor('input', 'float32', ['N', 'F'])], outputs)).toMatch(/shape \[N, N\]/);
    expect(mismatch([{ name: 'input', isTensor: false }], outputs)).toMatch(/input 'input' is not a tensor/);
    expect(mismatch(inputs, [outputs[0] as Value])).toMatch(
      /no probability output 'probabilities' \(the graph's outputs: label\)/,
    );
    expect(mismatch(inputs, [outputs[0] as Value, { name: 'probabilities', isTensor: false }])).toMatch(
      /zipmap/,
    );
    expect(mismatch(inputs, [tensor('label', 'float32', ['N']), outputs[1] as Value])).toMatch(
      /label output 'label' is float32/,
    );
    expect(mismatch(inputs, [outputs[0] as Value, tensor('probabilities', 'float32', ['N', 3])])).toMatch(
      /shape \[N, 3\], expected \[N, 2\] for the 2 declared classes/,
    );
    const named = parseMetadata({ ...sidecar('california-logistic'), input: 'features' }, 'test');
    expect(mismatch(inputs, outputs, named)).toMatch(
      /metadata names input 'features', the graph's input is 'input'/,
    );
  });

  it('a real graph with metadata declaring 7 features: GRAPH_MISMATCH, and the session is released', async () => {
    const seven = {
      ...sidecar('california-logistic'),
      features: CALIFORNIA_FEATURES.slice(0, 7).map((name) => ({ name, type: 'number' })),
    };
    await expect(
      loadModel({ bytes: modelBytes('california-logistic'), metadata: seven }),
    ).rejects.toMatchObject({
      code: 'GRAPH_MISMATCH',
      message:
        "graph does not match the metadata: input 'input' has shape [N, 8], expected [N, 7] for the 7 declared graph features",
    });
  });

  it('a real graph with renamed outputs in the metadata: GRAPH_MISMATCH naming the output', async () => {
    const renamed = {
      ...sidecar('california-forest'),
      outputs: { label: 'output_label', probabilities: 'probabilities' },
    };
    await expect(
      loadModel({ bytes: modelBytes('california-forest'), metadata: renamed }),
    ).rejects.toMatchObject({
      code: 'GRAPH_MISMATCH',
      message: expect.stringContaining("no label output 'output_label'") as string,
    });
  });

  it('a real graph as skl2onnx exports it with zipmap on: GRAPH_MISMATCH that says so', async () => {
    // skl2onnx's default: `output_label` [N] and `output_probability`, a sequence of maps (ZipMap).
    const zipMap = message(
      1,
      bytes(1, 'probabilities'),
      bytes(2, 'output_probability'),
      bytes(4, 'ZipMap'),
      message(5, bytes(1, 'classlabels_int64s'), int(8, 0), int(8, 1), int(20, 7)),
      bytes(7, 'ai.onnx.ml'),
    );
    const mapOfFloats = message(5, int(1, INT64), message(2, message(1, int(1, FLOAT))));
    const graph = Buffer.concat([
      node('Softmax', ['input'], 'probabilities', { axis: 1 }),
      node('ArgMax', ['probabilities'], 'output_label', { axis: 1, keepdims: 0 }),
      zipMap,
      bytes(2, 'zipmap-on'),
      valueInfo(11, 'input', FLOAT, ['N', 2]),
      valueInfo(12, 'output_label', INT64, ['N']),
      message(12, bytes(1, 'output_probability'), message(2, message(4, message(1, mapOfFloats)))),
    ]);
    const onnx = Buffer.concat([
      int(1, 8),
      bytes(7, graph),
      message(8, bytes(1, ''), int(2, 13)),
      message(8, bytes(1, 'ai.onnx.ml'), int(2, 1)),
    ]);
    const metadata = {
      task: 'binary_classification',
      classes: ['0', '1'],
      positive_class: '1',
      features: [
        { name: 'a', type: 'number' },
        { name: 'b', type: 'number' },
      ],
    };
    // Before: "no label output 'label' (the graph's outputs: output_label, output_probability)",
    // which sends the user renaming outputs; the export option is the remedy.
    await expect(loadModel({ bytes: onnx, metadata })).rejects.toMatchObject({
      code: 'GRAPH_MISMATCH',
      message:
        "graph does not match the metadata: no label output 'label' (the graph's outputs: output_label, output_probability; 'output_probability' is not a tensor: was the model exported with zipmap on? Export it with zipmap off)",
    });
  });
});
