import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The compiled module at `dist/<file>` (built by `npm run build`). Worker pools find their
 * compiled worker next to them, so tests of the threads load the pool from there.
 */
export async function importCompiled<T>(file: string): Promise<T> {
  const compiled = path.resolve('dist', file);
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run npm run build first`);
  return (await import(compiled)) as T;
}
