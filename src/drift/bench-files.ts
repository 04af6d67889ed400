/**
 * The offline half of `modelwatch bench drift`: the bench's rows written to CSV and Parquet files
 * (one column per feature, as a user would hand them to `modelwatch drift` or to Evidently), then
 * `modelwatch drift` timed on them beside a plain parse of the same files.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '../platform/clickhouse/index.js';
import { runOfflineDrift } from './offline/offline.js';

export interface Timing {
  wall: number;
  /** CPU seconds of the whole process: the embedded engine's threads and JavaScript. */
  cpu: number;
  /** The part of `cpu` spent in the kernel. */
  systemCpu: number;
  /**
   * Minor page faults of the whole process: fresh memory touched. On the VMs measured here each
   * costs several µs, and they were most of the engine's system CPU (src/drift/README.md).
   */
  minorFaults: number;
}

export async function seconds<T>(work: () => Promise<T>): Promise<[T, Timing]> {
  const started = process.hrtime.bigint();
  const before = process.resourceUsage();
  const result = await work();
  const after = process.resourceUsage();
  const microseconds = (u: NodeJS.ResourceUsage) => u.userCPUTime + u.systemCPUTime;
  return [
    result,
    {
      wall: Number(process.hrtime.bigint() - started) / 1e9,
      cpu: (microseconds(after) - microseconds(before)) / 1e6,
      systemCpu: (after.systemCPUTime - before.systemCPUTime) / 1e6,
      minorFaults: after.minorPageFault - before.minorPageFault,
    },
  ];
}

export const fmt = (t: Timing) =>
  `${t.wall.toFixed(2).padStart(6)} s (cpu ${t.cpu.toFixed(2).padStart(6)} s)`;

/** `fmt` with the system CPU and the page faults. */
export const fmtWithFaults = (t: Timing) =>
  `${fmt(t)}  sys ${t.systemCpu.toFixed(2).padStart(5)} s, ${Math.round(t.minorFaults / 1000)}k page faults`;

export interface OfflineTimings {
  files: { reference: string; current: string }[];
  runs: { label: string; seconds: Timing }[];
}

interface Range {
  from: number;
  to: number;
}

async function writeFile(
  db: Database,
  file: string,
  format: 'CSVWithNames' | 'Parquet',
  features: number,
  range: Range,
): Promise<void> {
  const columns = Array.from({ length: features }, (_, i) => `features_num['f${i}'] AS f${i}`).join(', ');
  await db.client.command({
    query: `INSERT INTO FUNCTION file({file:String}, '${format}') SELECT ${columns} FROM predictions FINAL
      WHERE model_id = 'bench' AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
      ORDER BY timestamp SETTINGS engine_file_truncate_on_insert = 1`,
    query_params: { file, from: range.from, to: range.to },
  });
}

export async function benchOffline(
  db: Database,
  options: {
    features: number;
    window: { reference: Range; current: Range };
    dir: string;
    log: (m: string) => void;
  },
): Promise<OfflineTimings> {
  const { features, window, dir, log } = options;
  await mkdir(dir, { recursive: true });
  const out: OfflineTimings = { files: [], runs: [] };
  const sum = Array.from({ length: features }, (_, i) => `f${i}`).join(' + ');
  const structure = Array.from({ length: features }, (_, i) => `f${i} Float64`).join(', ');
  for (const [ext, format] of [
    ['csv', 'CSVWithNames'],
    ['parquet', 'Parquet'],
  ] as const) {
    const reference = path.join(dir, `reference.${ext}`);
    const current = path.join(dir, `current.${ext}`);
    log(`writing ${reference} and ${current}`);
    await writeFile(db, reference, format, features, window.reference);
    await writeFile(db, current, format, features, window.current);
    out.files.push({ reference, current });
    const [, parse] = await seconds(async () => {
      for (const file of [reference, current]) {
        const result = await db.client.query({
          query: `SELECT count(), sum(${sum}) FROM file({file:String}, '${format}', {structure:String})`,
          query_params: { file, structure },
          format: 'JSONEachRow',
        });
        await result.json();
      }
    });
    out.runs.push({ label: `baseline: parse both ${ext} files (sum of all)`, seconds: parse });
    log(`modelwatch drift on the ${ext} files`);
    const [, run] = await seconds(() => runOfflineDrift({ reference, current, method: 'wasserstein', db }));
    out.runs.push({ label: `modelwatch drift --method wasserstein (${ext})`, seconds: run });
  }
  return out;
}
