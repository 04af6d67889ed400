import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DriftService } from '../../../src/drift/index.js';
import type { ModelRegistry } from '../../../src/models/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { TriggerEvaluator } from '../../../src/triggers/index.js';
import type { TriggerStore } from '../../../src/triggers/store/triggers.js';

describe('the retrain policy loop', () => {
  it('goes on to the next model when one model fails, and logs which one', async () => {
    const models = ['a', 'broken', 'c'];
    const judged: string[] = [];
    const logs: Record<string, unknown>[] = [];
    const evaluator = new TriggerEvaluator({
      models: {
        list: () => Promise.resolve(models.map((model_id) => ({ model_id, model_version: '1' }))),
      } as unknown as ModelRegistry,
      policies: {
        get: () =>
          Promise.resolve({ sections: { retrain: { performance: { metric: 'accuracy', min: 0.5 } } } }),
      },
      drift: {
        settings: (modelId: string) => {
          if (modelId === 'broken') return Promise.reject(new Error('metrics query failed'));
          judged.push(modelId);
          return Promise.resolve({ evaluationWindow: '1h', allowedLatenessMs: 0 });
        },
      } as unknown as DriftService,
      // No predictions: nothing to judge past the settings.
      db: {
        client: { query: () => Promise.resolve({ json: () => Promise.resolve([{ n: 0, t: 0 }]) }) },
      } as unknown as Database,
      store: {} as TriggerStore,
      logger: pino(
        { level: 'warn' },
        { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
      ),
      onStored: () => undefined,
    });
    await expect(evaluator.runOnce()).resolves.toEqual([]);
    expect(judged).toEqual(['a', 'c']);
    expect(logs).toEqual([
      expect.objectContaining({ level: 50, model: 'broken', err: 'metrics query failed' }),
    ]);
  });
});
