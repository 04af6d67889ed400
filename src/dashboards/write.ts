import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../platform/errors.js';
import { DASHBOARDS, renderDashboard, type DashboardDefinition } from './render.js';

export interface WrittenDashboard {
  uid: string;
  path: string;
  /** False when the file already held exactly this JSON and was left alone. */
  changed: boolean;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes `<uid>.json` per dashboard into `outDir` (created if missing). */
export async function writeDashboards(
  outDir: string,
  definitions: readonly DashboardDefinition[] = DASHBOARDS,
): Promise<WrittenDashboard[]> {
  const written: WrittenDashboard[] = [];
  try {
    await mkdir(outDir, { recursive: true });
    for (const definition of definitions) {
      const path = join(outDir, `${definition.uid}.json`);
      const json = renderDashboard(definition);
      const changed = (await readIfExists(path)) !== json;
      if (changed) await writeFile(path, json, 'utf8');
      written.push({ uid: definition.uid, path, changed });
    }
  } catch (err) {
    throw new Error(`cannot write dashboards to ${outDir}: ${errorMessage(err)}`, { cause: err });
  }
  return written;
}
