import { writeFile } from 'node:fs/promises';
import { parseOptions, UsageError, type Command } from '../../platform/cli/index.js';
import { errorMessage } from '../../platform/errors.js';
import { ModelwatchError } from '../../platform/errors.js';
import { parseBucket } from '../../platform/time/index.js';
import { METHOD_OPTIONS } from '../engine/settings-core.js';
import { runOfflineDrift, type EvaluatedWindows, type OfflineDriftReport } from './offline.js';
import { formatTable as formatDriftTable } from './table.js';
import { markedAt, runTimings } from './timings.js';

const usage =
  'modelwatch drift --reference FILE --current FILE [--columns A,B,…] [--timestamp-column C --bucket B] [--method M] [--format json|table|html] [--out FILE] [--max-memory MIB] [--timings]';

const FORMATS = ['table', 'json', 'html'] as const;

/** The largest --max-memory whose bytes are a safe integer (~8 PiB). */
const MAX_MEMORY_MIB = Math.floor(Number.MAX_SAFE_INTEGER / 1024 ** 2);

async function html(report: OfflineDriftReport, evaluated: EvaluatedWindows | undefined): Promise<string> {
  // Loaded for this format only (a short run's start is mostly loading modules).
  const { columnDistributions, renderDriftReportHtml } = await import('../report/index.js');
  return renderDriftReportHtml({
    title: `Drift report: ${report.current.file} against ${report.reference.file}`,
    subtitle: `reference ${report.reference.file} (${report.reference.rows} rows), current ${report.current.file} (${report.current.rows} rows), ${report.buckets.length} bucket${report.buckets.length === 1 ? '' : 's'}`,
    buckets: report.buckets,
    distributions: evaluated ? columnDistributions(evaluated.plans, evaluated.windows) : [],
    datasetDriftShare: evaluated?.datasetDriftShare ?? 0.5,
  });
}

async function writeOut(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text, 'utf8');
  } catch (err) {
    throw new ModelwatchError('BAD_REQUEST', `--out: cannot write ${file}: ${errorMessage(err)}`, false, {
      cause: err,
    });
  }
}

export interface DriftCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Progress redraws one line on a terminal; elsewhere it prints a line now and then. */
  interactive: boolean;
}

/** Quiet for this long: a quick run prints nothing but its result. */
const PROGRESS_AFTER_MS = 1_500;

function progressReporter(io: DriftCommandIo) {
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(message: string) {
      const now = Date.now();
      if (now - started < PROGRESS_AFTER_MS) return;
      if (io.interactive) {
        io.stderr(`\r${message}\u001b[K`);
        shown = true;
      } else if (now - last >= 5_000) {
        io.stderr(`${message}\n`);
        last = now;
      }
    },
    done() {
      if (shown) io.stderr('\r\u001b[K');
    },
  };
}

/** The command with its output streams injected (tests pass their own). */
export async function runDriftCommand(args: string[], io: DriftCommandIo): Promise<number> {
  const commandStarted = performance.now();
  const { values, positionals } = parseOptions(
    args,
    {
      reference: { type: 'string' },
      current: { type: 'string' },
      columns: { type: 'string' },
      'timestamp-column': { type: 'string' },
      bucket: { type: 'string' },
      method: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'max-memory': { type: 'string' },
      timings: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'; usage: ${usage}`);
  if (values.reference === undefined || values.current === undefined)
    throw new UsageError(`--reference and --current are required; usage: ${usage}`);
  // An empty value is a mistake, not "not given": '' was both for --timestamp-column (the
  // timestamp path ran with no column, or --bucket exited 1 saying it needed one).
  for (const name of ['reference', 'current', 'timestamp-column'] as const)
    if (values[name] === '')
      throw new UsageError(
        `--${name} must name a ${name === 'timestamp-column' ? 'column' : 'file'}; usage: ${usage}`,
      );
  const format = values.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format must be json, table or html, got '${format}'`);
  if (values.out === '') throw new UsageError(`--out must name a file; usage: ${usage}`);
  const method = values.method;
  if (method !== undefined && !(METHOD_OPTIONS as readonly string[]).includes(method)) {
    throw new UsageError(`--method must be one of ${METHOD_OPTIONS.join(', ')}, got '${method}'`);
  }
  const maxMemory = values['max-memory'] === undefined ? undefined : Number(values['max-memory']);
  // In bytes it must stay a whole number: 2^53 MiB became the setting '9.44e+21', which the engine
  // refused as if the file could not be read ("ref.csv: cannot read it as CSV").
  if (
    maxMemory !== undefined &&
    !(Number.isSafeInteger(maxMemory * 1024 ** 2) && maxMemory >= 1 && Number.isInteger(maxMemory))
  ) {
    throw new UsageError(
      `--max-memory must be a whole number of MiB from 1 to ${MAX_MEMORY_MIB}, got '${values['max-memory']}'`,
    );
  }
  const columns = values.columns
    ?.split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (columns?.length === 0) throw new UsageError(`--columns names no column; usage: ${usage}`);
  if (values.bucket !== undefined && parseBucket(values.bucket) === undefined)
    throw new UsageError(`--bucket: '${values.bucket}' is not a bucket (5m, 1h, 1d, 1w, month or <n>m|h|d)`);
  if (values.bucket !== undefined && values['timestamp-column'] === undefined)
    throw new UsageError(`--bucket needs --timestamp-column; usage: ${usage}`);
  const progress = progressReporter(io);
  let evaluated: EvaluatedWindows | undefined;
  try {
    const report = await runOfflineDrift({
      reference: values.reference,
      current: values.current,
      columns,
      timestampColumn: values['timestamp-column'],
      bucket: values.bucket,
      method: method as (typeof METHOD_OPTIONS)[number] | undefined,
      progress: (m) => progress.update(m),
      warn: (m) => io.stderr(`modelwatch: warning: ${m}\n`),
      maxMemoryBytes: maxMemory === undefined ? undefined : maxMemory * 1024 ** 2,
      onWindows: format === 'html' ? (w) => (evaluated = w) : undefined,
    });
    progress.done();
    const reportReady = performance.now();
    const text =
      format === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : format === 'html'
          ? await html(report, evaluated)
          : formatDriftTable(report);
    if (values.out === undefined) io.stdout(text);
    else {
      await writeOut(values.out, text);
      io.stderr(`wrote ${values.out} (${format}, ${Buffer.byteLength(text)} bytes)\n`);
    }
    if (values.timings) {
      const timings = runTimings({
        commandStarted,
        engineLibraryLoaded: markedAt('libraryLoaded'),
        engineOpened: markedAt('opened'),
        reportReady,
        written: performance.now(),
      });
      io.stderr(`${JSON.stringify({ timings_ms: timings })}\n`);
    }
    return 0;
  } finally {
    progress.done();
  }
}

export const driftCommand: Command = {
  run: (args) =>
    runDriftCommand(args, {
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
      interactive: process.stderr.isTTY,
    }),
};
