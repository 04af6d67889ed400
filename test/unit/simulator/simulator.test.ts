import { describe, expect, it, onTestFinished } from 'vitest';
import { InferenceCore } from '../../../src/inference/index.js';
import { createLogger, StatusLine } from '../../../src/platform/observability/index.js';
import { loadStoryData, planStory, type StoryPlan } from '../../../src/simulator/index.js';
import { Simulator } from '../../../src/simulator/simulator.js';
import { RecordingSink, StubApi, topics } from './story-stub.js';

const DAY = 86_400_000;
const full = planStory(loadStoryData(), 42);
/** Two days of each period: the story's shape at a fraction of the scoring. */
const plan: StoryPlan = {
  ...full,
  predictions: full.predictions.filter(
    (p) =>
      p.timestamp < full.start + 2 * DAY ||
      (p.timestamp >= full.referenceEnd && p.timestamp < full.referenceEnd + 2 * DAY),
  ),
  labels: [],
  access: [],
  end: full.referenceEnd + 2 * DAY,
};

function simulator(
  api: StubApi,
  sink: RecordingSink,
  settleTimeoutMs?: number,
  status = new StatusLine({ isTTY: false, write: () => true }),
  summaryWritten: (text: string) => void = () => undefined,
) {
  const core = new InferenceCore();
  onTestFinished(() => core.close());
  const written: string[] = [];
  const sim = new Simulator(
    {
      api,
      sink,
      core,
      topics,
      logger: createLogger('silent', 'simulator-test'),
      status,
      out: {
        write: (text: string) => {
          summaryWritten(text);
          return written.push(text);
        },
      },
      registered: () => Promise.resolve(),
    },
    {
      plan,
      speed: 1e10,
      adminKey: 'k',
      publicUrl: 'http://x',
      tickMs: 1,
      settlePollMs: 10,
      triggersApartMs: 10,
      ...(settleTimeoutMs === undefined ? {} : { settleTimeoutMs }),
    },
  );
  return { sim, written };
}

const until = async (what: string, check: () => boolean) => {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('the simulator', () => {
  it('prints the summary when the last window or shadow scoring never settles at the end', async () => {
    const sink = new RecordingSink();
    // No drift window or shadow gauge on /metrics: both end steps time out.
    const { sim, written } = simulator(new StubApi(sink), sink, 50);
    await sim.run();
    const text = written.join('');
    expect(text).toContain('modelwatch: the story is told');
    expect(text).toContain(`ingested    ${plan.predictions.length} events`);
  }, 30_000);

  it.each([
    ['on a terminal', true],
    ['off a terminal', false],
  ])(
    'prints the summary last, after the final progress line (%s)',
    async (_where, isTTY) => {
      const sink = new RecordingSink();
      // The status line and the summary write into one list, in the order they are written.
      const writes: { to: 'status' | 'summary'; text: string }[] = [];
      const status = new StatusLine({ isTTY, write: (text: string) => writes.push({ to: 'status', text }) });
      const { sim } = simulator(new StubApi(sink), sink, 50, status, (text) =>
        writes.push({ to: 'summary', text }),
      );
      await sim.run();
      const at = writes.findIndex((w) => w.to === 'summary');
      expect(writes[at]!.text).toContain('modelwatch: the story is told');
      // Nothing after the summary; the progress line before it is the final one, at the story's end.
      expect(writes.slice(at + 1)).toEqual([]);
      const lines = writes.slice(0, at).filter((w) => w.text.includes('simulated '));
      const end = new Date(plan.end).toISOString().slice(0, 10);
      expect(lines.at(-1)!.text).toContain(`simulated ${end} · published ${plan.predictions.length} `);
    },
    30_000,
  );

  it('stopped while waiting for the end steps, once every event went out, says the story is told', async () => {
    const sink = new RecordingSink();
    const api = new StubApi(sink);
    const { sim, written } = simulator(api, sink);
    const running = sim.run();
    // The drift gauge never reaches the last window: the wait for it lasts until the stop.
    await until(
      'the wait for the last window',
      () =>
        api.calls.some((c) => c === 'GET /metrics') &&
        sink.count(topics.predictions) === plan.predictions.length,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sim.stop();
    await running;
    const text = written.join('');
    expect(text).toContain('modelwatch: the story is told');
    expect(text).not.toContain('before the end of the story');
  }, 30_000);

  it('keeps waiting for the reference period to be stored while ingest moves on, past the settle timeout', async () => {
    const sink = new RecordingSink();
    const api = new StubApi(sink);
    // One more prediction stored at each read: slower than the 50 ms timeout, but moving.
    let reads = 0;
    api.stored = (published) => Math.min(published, 5 * reads++);
    const { sim } = simulator(api, sink, 50);
    await sim.run();
    expect(api.calls.some((c) => c.startsWith('PUT ') && c.endsWith('/reference'))).toBe(true);
  }, 30_000);

  it('stopped while waiting for the reference period to be stored, sets no reference', async () => {
    const sink = new RecordingSink();
    const api = new StubApi(sink);
    api.stored = () => 0;
    const { sim } = simulator(api, sink);
    const running = sim.run();
    await until(
      'the wait for the reference period',
      () => api.calls.filter((c) => c === 'GET /metrics').length >= 3 && sink.count(topics.predictions) > 0,
    );
    await sim.stop();
    await running;
    expect(api.calls.filter((c) => c.startsWith('PUT '))).toEqual(['PUT /api/v1/models/california/policy']);
  }, 30_000);
});
