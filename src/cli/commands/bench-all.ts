/**
 * `modelwatch bench` without a name: every benchmark at modest sizes, each in its own process
 * (the embedded engine binds one data path per process), then one JSON report and one table,
 * each figure beside its same-run baseline. A benchmark that fails is reported; the others still run.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { entriesByName } from '../../platform/capability/index.js';
import { cleanUpOnSignal } from '../../platform/cli/index.js';
import { capabilities } from '../../service/index.js';
import { BENCH_PLANS, formatFigures, type BenchPlan, type Figure } from './bench-figures.js';

/** How much of a child's stderr is kept for its failure message. */
const STDERR_TAIL = 8_192;

/**
 * Runs `node <args>` and waits for it. What it prints is shown as it comes, on `forward` (stderr:
 * this command's stdout is its own table): the figures on its stdout and the progress on its
 * stderr (a bench of minutes showed nothing until it ended). Its stdout is kept for the figures,
 * the tail of its stderr for a failure's message.
 *
 * A signal to this process (Ctrl-C, `kill`, a CI timeout) is passed on to the child, which is
 * waited for (it stops its service and broker and removes its scratch data), and then ends this
 * process (cleanUpOnSignal); no next benchmark starts. This process ended at once before: the
 * child ran on alone, orphaned, until a write into the closed pipe crashed it, its scratch data
 * left behind. It runs in a process group of its own, so that a terminal's Ctrl-C reaches it only
 * from here: a second signal ends a benchmark before its clean-up.
 */
export function runChild(
  args: string[],
  forward: { write(text: string): unknown } = process.stderr,
): Promise<{ code: number | null; stdout: string; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stopping = false;
    const closed = new Promise((done) => child.once('close', done));
    const release = cleanUpOnSignal(() => {
      stopping = true;
      child.kill('SIGTERM');
      return closed;
    });
    let stdout = '';
    let stderrTail = '';
    // Decoded as text across chunks: a character split between two is not mangled.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      stdout += text;
      forward.write(text);
    });
    child.stderr.on('data', (text: string) => {
      forward.write(text);
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    });
    child.once('error', (err) => {
      release();
      reject(err);
    });
    // 'close', not 'exit': the pipes may still hold the last lines (the error) when it exits.
    child.once('close', (code) => {
      release();
      if (!stopping) resolve({ code, stdout, stderrTail });
    });
  });
}

/** A failed child in one line: its exit code and the last line it printed on stderr. */
export function childFailure(code: number | null, stderrTail: string): string {
  const last = stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  return `exit ${code}${last === undefined ? '' : `: ${last}`}`;
}

/** The benchmarks the capabilities register, in their order: the nameless run cannot skip one. */
export function registeredBenches(): string[] {
  return [...entriesByName(capabilities, (c) => c.benches).keys()];
}

interface Run {
  bench: string;
  args: string[];
  seconds: number;
  output: string;
}

/** One benchmark in its own process: what it printed, and its figures or why there are none. */
async function runOne(
  name: string,
  plan: BenchPlan,
): Promise<{ run: Run; figures: Figure[] } | { run: Run; error: string }> {
  process.stderr.write(`\n== bench ${name} ${plan.args.join(' ')}\n`);
  const started = performance.now();
  const result = await runChild([process.argv[1] ?? '', 'bench', name, ...plan.args]);
  const run = {
    bench: name,
    args: plan.args,
    seconds: (performance.now() - started) / 1000,
    output: result.stdout,
  };
  try {
    if (result.code !== 0) throw new Error(childFailure(result.code, result.stderrTail));
    return { run, figures: plan.parse(result.stdout) };
  } catch (err) {
    return { run, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Runs them all; returns the exit code (1 when any failed, or has no plan in bench-figures.ts). */
export async function runAllBenches(
  out = 'modelwatch-bench.json',
  names: readonly string[] = registeredBenches(),
): Promise<number> {
  const figures: Figure[] = [];
  const failed: { bench: string; error: string }[] = [];
  const runs: Run[] = [];
  for (const name of names) {
    const plan = BENCH_PLANS.get(name);
    if (!plan) {
      failed.push({
        bench: name,
        error: 'not run: no options or parser in src/cli/commands/bench-figures.ts',
      });
      continue;
    }
    const result = await runOne(name, plan);
    runs.push(result.run);
    if ('error' in result) failed.push({ bench: name, error: result.error });
    else figures.push(...result.figures);
  }
  const report = { created_at: new Date().toISOString(), figures, failed, runs };
  const file = path.resolve(out);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${formatFigures(figures, failed)}\nreport: ${file}\n`);
  return failed.length > 0 ? 1 : 0;
}
