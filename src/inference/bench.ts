/**
 * The inference core alone: rows/s scoring one batch of N rows with a logistic model (10
 * features by default), from objects, a row-major matrix and a column-major matrix. The rows are
 * built before timing; each figure is the median of `--repeat` runs, after one warm-up.
 */
import { parseOptions, positiveWholeOption, type Bench } from '../platform/cli/index.js';
import { bundledModelFile } from './bundled-models.js';
import { loadModelFile } from './load-model.js';
import type { OnnxModel } from './onnx-model.js';
import type { ScoreResult } from './decode-outputs.js';
import type { FeatureMatrix } from './encode-matrix.js';

const usage =
  'modelwatch bench inference [--rows 1000000] [--batch 10000] [--repeat 5] [--threads 1] [--model FILE.onnx]';

const whole = (value: string | undefined, fallback: number, name: string) =>
  positiveWholeOption(name, value, fallback, usage);

function options(args: string[]) {
  const { values } = parseOptions(
    args,
    {
      rows: { type: 'string' },
      batch: { type: 'string' },
      repeat: { type: 'string' },
      threads: { type: 'string' },
      model: { type: 'string' },
    },
    usage,
  );
  return {
    rows: whole(values.rows, 1_000_000, 'rows'),
    batch: whole(values.batch, 10_000, 'batch'),
    repeat: whole(values.repeat, 5, 'repeat'),
    threads: whole(values.threads, 1, 'threads'),
    model: values.model ?? bundledModelFile('synthetic-logistic-10'),
  };
}

/** Deterministic values in [-3, 3) (xorshift32); cheap enough for 10^7 values. */
function values(n: number): Float32Array {
  const out = new Float32Array(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32) * 6 - 3;
  }
  return out;
}

interface Timing {
  wall: number;
  /** CPU seconds of the whole process (JavaScript and onnxruntime's threads): on a shared machine, the steadier figure. */
  cpu: number;
}

const middle = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function median(repeat: number, work: () => Promise<number>, rows: number): Promise<Timing> {
  await work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    const before = process.cpuUsage();
    const scored = await work();
    const used = process.cpuUsage(before);
    wall.push((performance.now() - started) / 1000);
    cpu.push((used.user + used.system) / 1e6);
    if (scored !== rows) throw new Error(`scored ${scored} of ${rows} rows`);
  }
  return { wall: middle(wall), cpu: middle(cpu) };
}

const perSecond = (rows: number, s: number) =>
  Math.round(rows / s)
    .toLocaleString('en-US')
    .padStart(12);

/** Scores every batch one after the other, as a caller would; answers the rows scored. */
async function each<T>(batches: readonly T[], score: (batch: T) => Promise<ScoreResult>): Promise<number> {
  let scored = 0;
  for (const batch of batches) scored += (await score(batch)).scored;
  return scored;
}

/** The rows cut into batches before timing. */
function batchesOf(rowMajor: Float32Array, f: number, rows: number, batch: number) {
  return Array.from({ length: Math.ceil(rows / batch) }, (_, i) => {
    const n = Math.min(batch, rows - i * batch);
    return { n, values: rowMajor.subarray(i * batch * f, (i * batch + n) * f) };
  });
}

function transpose(values: Float32Array, n: number, f: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < n; r++) for (let j = 0; j < f; j++) out[j * n + r] = values[r * f + j] as number;
  return out;
}

/**
 * Each case builds its inputs when it starts and drops them when it ends: a million live row
 * objects make every major GC dearer, and would tax the matrix cases too.
 */
function cases(model: OnnxModel, rows: number, batch: number): [string, () => () => Promise<number>][] {
  const names = model.metadata.columns.map((c) => c.name);
  const f = names.length;
  const all = values(rows * f);
  const matrices = (layout: FeatureMatrix['layout']): FeatureMatrix[] =>
    batchesOf(all, f, rows, batch).map(({ n, values }) => ({
      rows: n,
      layout,
      values: layout === 'row-major' ? values : transpose(values, n, f),
    }));
  const objects = () =>
    batchesOf(all, f, rows, batch).map(({ n, values }) =>
      Array.from({ length: n }, (_, r) =>
        Object.fromEntries(names.map((name, j) => [name, values[r * f + j] as number])),
      ),
    );
  return [
    [
      'row-major Float32Array',
      () =>
        (
          (b) => () =>
            each(b, (m) => model.scoreMatrix(m))
        )(matrices('row-major')),
    ],
    [
      'column-major Float32Array',
      () =>
        (
          (b) => () =>
            each(b, (m) => model.scoreMatrix(m))
        )(matrices('column-major')),
    ],
    [
      'objects',
      () =>
        (
          (b) => () =>
            each(b, (o) => model.score(o))
        )(objects()),
    ],
  ];
}

async function measure(
  model: OnnxModel,
  rows: number,
  batch: number,
  repeat: number,
  log: (line: string) => void,
) {
  for (const [name, prepare] of cases(model, rows, batch)) {
    const t = await median(repeat, prepare(), rows);
    log(
      `  ${name.padEnd(26)} ${(t.wall * 1000).toFixed(1).padStart(8)} ms ${perSecond(rows, t.wall)} rows/s   ` +
        `cpu ${(t.cpu * 1000).toFixed(1).padStart(8)} ms ${perSecond(rows, t.cpu)} rows/cpu-s`,
    );
  }
}

export const inferenceBench: Bench = {
  async run(args) {
    const opts = options(args);
    const model = await loadModelFile(opts.model, { intraOpThreads: opts.threads });
    const log = (line: string) => process.stdout.write(`${line}\n`);
    try {
      log(
        `inference core: ${opts.model}, ${model.metadata.columns.length} features, ${opts.rows.toLocaleString('en-US')} rows in batches of ${opts.batch.toLocaleString('en-US')}, ${opts.threads} intra-op thread(s), median of ${opts.repeat}`,
      );
      await measure(model, opts.rows, opts.batch, opts.repeat, log);
    } finally {
      await model.close();
    }
  },
};
