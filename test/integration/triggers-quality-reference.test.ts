import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { triggers } from '../../src/triggers/index.js';
import { prediction } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import { put, storedTriggers, waitForModel } from '../support/triggers.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);
const PER_HOUR = 20;
/** Hours whose predictions all lack `x`: one inside the reference day, one after it. */
const HOLES = [5, 30];

describe('the retrain quality condition and a reference taken from a range', () => {
  it("never fires for a window inside the reference's own period, as drift and segments do not", async () => {
    // Regression: a burst of nulls inside the reference period (4% of it, 100% of its hour) fired
    // a quality trigger for the reference's own data, which the drift and segment conditions skip.
    const service = await startTestService();
    const events = Array.from({ length: 48 * PER_HOUR }, (_, i) => {
      const hour = Math.floor(i / PER_HOUR);
      const x = HOLES.includes(hour) ? null : (i * 7919) % 101;
      return prediction(i, {
        model_id: 'q',
        model_version: '1',
        timestamp: T0 + hour * HOUR + (i % PER_HOUR) * 60_000,
        features: { x, y: (i * 104_729) % 97 },
        prediction: i % 2,
        score: (i % 100) / 100,
        status: 'ok',
      });
    });
    await produce(service.config.topics.predictions, events);
    await waitFor('the predictions stored', async () => {
      const [row] = await service.rows<{ p: number }>('SELECT count() AS p FROM predictions FINAL');
      return row?.p === events.length ? true : undefined;
    });
    await waitForModel(service, 'q');
    const policy = await put(service, '/api/v1/models/q/policy', {
      drift: { evaluation_window: '1h', allowed_lateness: '0s' },
      retrain: { quality: { columns: ['x'], checks: ['missing'] } },
    });
    expect(policy.status).toBe(200);
    const reference = await put(service, '/api/v1/models/q/versions/1/reference', {
      from: T0,
      to: T0 + 24 * HOUR,
    });
    expect(reference.status).toBe(200);

    await service.use(drift).evaluator.runOnce();
    // Both holes are flagged in the stored quality windows...
    const flagged = await service.rows<{ start: number }>(
      `SELECT DISTINCT toUnixTimestamp64Milli(window_start) AS start FROM quality_results FINAL
       WHERE model_id = 'q' AND column = 'x' AND has(flags, 'missing') ORDER BY start`,
    );
    expect(flagged.map((r) => (Number(r.start) - T0) / HOUR)).toEqual(HOLES);
    // ...but only the one after the reference period is a reason to retrain.
    await service.use(triggers).evaluator.runOnce();
    const stored = await storedTriggers(service, 'q');
    expect(stored.map((t) => [t.reason, t.window.start])).toEqual([
      ['quality', new Date(T0 + 30 * HOUR).toISOString()],
    ]);
  }, 120_000);
});
