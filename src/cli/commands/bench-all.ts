/**
 * `modelwatch bench` without a name: every benchmark at modest sizes, each in its own process
 * (the embedded engine binds one data path per process), then one JSON report and one table,
 * each figure beside its same-run baseline. A benchmark that fails is reported; the others still run.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ALL_BENCHES, formatFigures, type Figure } from './bench-figures.js';

function runChild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1] ?? '', 'bench', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs them all; returns the exit code (1 when any failed). */
export async function runAllBenches(out = 'modelwatch-bench.json'): Promise<number> {
  const figures: Figure[] = [];
  const failed: { bench: string; error: string }[] = [];
  const runs: { bench: string; args: string[]; seconds: number; output: string }[] = [];
  for (const bench of ALL_BENCHES) {
    process.stderr.write(`\n== bench ${bench.name} ${bench.args.join(' ')}\n`);
    const started = performance.now();
    const result = await runChild([bench.name, ...bench.args]);
    const seconds = (performance.now() - started) / 1000;
    runs.push({ bench: bench.name, args: bench.args, seconds, output: result.stdout });
    try {
      if (result.code !== 0)
        throw new Error(`exit ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
      figures.push(...bench.parse(result.stdout));
    } catch (err) {
      failed.push({ bench: bench.name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const report = { created_at: new Date().toISOString(), figures, failed, runs };
  const file = path.resolve(out);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${formatFigures(figures, failed)}\nreport: ${file}\n`);
  return failed.length > 0 ? 1 : 0;
}
