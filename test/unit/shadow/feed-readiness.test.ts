import { afterEach, describe, expect, it } from 'vitest';
import type { ModelRegistry, ModelVersionRecord } from '../../../src/models/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { createShadowFeed, type ShadowFeed } from '../../../src/shadow/feed.js';
import type { ShadowScorer } from '../../../src/shadow/scorer.js';

/**
 * A challenger whose every pass fails the same way (e.g. a query the engine always refuses) holds
 * the feed's readiness down for 4 passes only, then is retried without it; a new error counts
 * again. The engine is a fake whose every statement fails.
 */

const challenger = {
  model_id: 'm',
  model_version: '2',
  artifact_sha256: 'abc',
  feature_schema: '{}',
} as ModelVersionRecord;

let feed: ShadowFeed | undefined;
afterEach(async () => {
  await feed?.stop();
});

describe('shadow feed readiness', () => {
  it('stops counting a challenger that fails the same way every pass; counts a new error again', async () => {
    // The feed's readiness as each pass starts (so after the pass before), and the error every
    // statement fails with: the same one for 5 passes, then another.
    const seen: boolean[] = [];
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => (reached = resolve));
    const fail = () => {
      seen.push(feed?.degraded ?? false);
      if (seen.length === 7) reached();
      return Promise.reject(new Error(seen.length < 6 ? 'Max query size exceeded' : 'Connection refused'));
    };
    const db = {
      client: { query: fail, command: fail, exec: fail, insert: fail },
      insertJsonEachRow: fail,
    } as unknown as Database;
    feed = createShadowFeed({
      db,
      registry: { challengers: () => Promise.resolve([challenger]) } as unknown as ModelRegistry,
      scorer: { retain: () => Promise.resolve() } as unknown as ShadowScorer,
      logger: createLogger('silent'),
      idleMs: 1,
      refreshMs: 60_000,
    });
    await feed.start();
    await enough;
    expect(seen.slice(0, 7)).toEqual([false, true, true, true, true, false, true]);
  });
});
