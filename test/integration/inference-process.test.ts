import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The built core (`npm test` builds first), in a process of its own: what a script using it sees.
const core = path.resolve('dist/inference/index.js');
const model = path.resolve('data/models/california-logistic.onnx');

function run(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // --input-type is the caller's flag: a worker that inherited it could not load its own file.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('a process using the inference core', () => {
  it('scores with its flags of its own, and exits when its work is done without closing the model', async () => {
    const row = {
      MedInc: 3,
      HouseAge: 20,
      AveRooms: 5,
      AveBedrms: 1,
      Population: 1000,
      AveOccup: 3,
      Latitude: 34,
      Longitude: -118,
    };
    const { code, stdout, stderr } = await run(`
      const { loadModelFile } = await import(${JSON.stringify(core)});
      const model = await loadModelFile(${JSON.stringify(model)});
      const result = await model.score([${JSON.stringify(row)}]);
      console.log(JSON.stringify({ scored: result.scored, label: result.labels[0] }));
    `);
    expect(stderr).toBe('');
    // Killed after 30 s (code null) had the idle worker thread kept it alive.
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { scored: number; label: string };
    expect(out.scored).toBe(1);
    expect(['0', '1']).toContain(out.label);
  });
});
