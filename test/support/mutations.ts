import type { Database } from '../../src/platform/clickhouse/index.js';

/**
 * Waits until the engine has applied every mutation of `table` (ALTER … MATERIALIZE INDEX,
 * MODIFY COLUMN run in the background); throws if some are still pending after `timeoutMs`.
 */
export async function waitForMutations(db: Database, table: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await db.client.query({
      query: `SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND table = {table:String} AND NOT is_done`,
      query_params: { table },
      format: 'JSONEachRow',
    });
    const [pending] = await result.json<{ n: number | string }>();
    if (Number(pending?.n) === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${table}: ${pending?.n} mutations still pending after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
