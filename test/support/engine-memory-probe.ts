import type { TestService } from './service.js';

/** What the embedded engine held when its tracked memory was highest. */
export interface EngineMemorySample {
  trackedMb: number;
  merges: number;
  mergesMb: number;
  /** The largest running queries (their first 120 characters) and their memory. */
  queries: { query: string; mb: number }[];
}

const mb = (bytes: number | string) => Math.round(Number(bytes) / 2 ** 20);

/**
 * Samples the engine's tracked memory, its merges and its running queries every `everyMs`, and
 * keeps the sample with the most tracked memory: where a peak of the RSS outside V8 goes. It
 * takes a connection of the service's engine for each sample, so it is opt-in
 * (`MODELWATCH_OUTAGE_PROBE=1` for the outage tests).
 */
export function probeEngineMemory(
  service: TestService,
  everyMs = 500,
): { stop(): EngineMemorySample | undefined } {
  let top: EngineMemorySample | undefined;
  let busy = false;
  const sample = async () => {
    const [tracked] = await service.rows<{ v: number | string }>(
      `SELECT value AS v FROM system.metrics WHERE metric = 'MemoryTracking'`,
    );
    const [merges] = await service.rows<{ n: number | string; m: number | string }>(
      `SELECT count() AS n, sum(memory_usage) AS m FROM system.merges`,
    );
    const queries = await service.rows<{ q: string; m: number | string }>(
      `SELECT substring(query, 1, 120) AS q, memory_usage AS m FROM system.processes
       WHERE query NOT LIKE '%system.processes%' ORDER BY memory_usage DESC LIMIT 3`,
    );
    const trackedMb = mb(tracked?.v ?? 0);
    if (top !== undefined && trackedMb <= top.trackedMb) return;
    top = {
      trackedMb,
      merges: Number(merges?.n ?? 0),
      mergesMb: mb(merges?.m ?? 0),
      queries: queries.map((q) => ({ query: q.q.replace(/\s+/g, ' '), mb: mb(q.m) })),
    };
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    sample()
      .catch(() => undefined) // the table detached, a query refused: the next sample tries again
      .finally(() => (busy = false));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return top;
    },
  };
}
