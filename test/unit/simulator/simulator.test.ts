import { describe, expect, it, onTestFinished } from 'vitest';
import { InferenceCore } from '../../../src/inference/index.js';
import { createLogger, StatusLine, type Logger } from '../../../src/platform/observability/index.js';
import { loadStoryData, planStory, type StoryPlan } from '../../../src/simulator/index.js';
import { Simulator } from '../../../src/simulator/simulator.js';
import { RecordingSink, StubApi, StubRegistry, topics } from './story-stub.js';

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

interface Harness {
  settleTimeoutMs?: number;
  status?: StatusLine;
  summaryWritten?: (text: string) => void;
  logger?: Logger;
}

function simulator(
  api: StubApi,
  sink: RecordingSink,
  {
    settleTimeoutMs,
    status = new StatusLine({ isTTY: false, write: () => true }),
    summaryWritten = () => undefined,
    logger = createLogger('silent', 'simulator-test'),
  }: Harness = {},
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
      logger,
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
  return { sim, written, core };
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
    const { sim, written } = simulator(new StubApi(sink), sink, { settleTimeoutMs: 50 });
    await sim.run();
    const text = written.join('');
    expect(text).toContain('modelwatch: the story is told');
    expect(text).toContain(`ingested    ${plan.predictions.length} events`);
  }, 30_000);

  it("scores on once the model's worker thread stopped (one model held for the run failed every later batch)", async () => {
    const sink = new RecordingSink();
    const { sim, written, core } = simulator(new StubApi(sink), sink, { settleTimeoutMs: 50 });
    let crashed = false;
    const send = sink.send.bind(sink);
    sink.send = async (topic, messages) => {
      await send(topic, messages);
      if (crashed || topic !== topics.predictions) return;
      crashed = true;
      await (await core.get(core.keys[0]!))!.crashWorkerForTest();
    };
    await sim.run();
    expect(crashed).toBe(true);
    expect(sink.count(topics.predictions)).toBe(plan.predictions.length);
    expect(written.join('')).toContain('modelwatch: the story is told');
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
      const { sim } = simulator(new StubApi(sink), sink, {
        settleTimeoutMs: 50,
        status,
        summaryWritten: (text) => writes.push({ to: 'summary', text }),
      });
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
    const { sim } = simulator(api, sink, { settleTimeoutMs: 50 });
    await sim.run();
    expect(api.calls.some((c) => c.startsWith('PUT ') && c.endsWith('/reference'))).toBe(true);
  }, 30_000);

  it('stopped while waiting for the reference period to be stored, sets no reference and says drift was not measured', async () => {
    const sink = new RecordingSink();
    const api = new StubApi(sink);
    api.stored = () => 0;
    const lines: string[] = [];
    const status = new StatusLine({ isTTY: false, write: (text: string) => lines.push(text) });
    const { sim, written } = simulator(api, sink, { status });
    const running = sim.run();
    await until(
      'the wait for the reference period',
      () => api.calls.filter((c) => c === 'GET /metrics').length >= 3 && sink.count(topics.predictions) > 0,
    );
    await sim.stop();
    await running;
    expect(api.calls.filter((c) => c.startsWith('PUT '))).toEqual(['PUT /api/v1/models/california/policy']);
    expect(written.join('')).toContain(
      '\n  drift       not measured yet (the reference period had not ended)\n',
    );
    expect(lines.at(-1)).toContain(' · drift not measured yet · ');
  }, 30_000);

  it('draws the final progress line with the summary\'s figures, not its own last read (regression: "triggers 5" above six)', async () => {
    const sink = new RecordingSink();
    const writes: { to: 'status' | 'summary'; text: string }[] = [];
    const status = new StatusLine({
      isTTY: false,
      write: (text: string) => writes.push({ to: 'status', text }),
    });
    const trigger = {
      trigger_id: 't1',
      model_version: '1',
      reason: 'drift',
      window: { start: '2021-06-01T00:00:00Z', end: '2021-06-02T00:00:00Z' },
      published: true,
    };
    // A trigger emitted after the progress line's last read: the story ends before its first
    // complete month, so only the summary reads drift, just before it reads the triggers.
    const api: StubApi = new StubApi(sink, (_method, path) =>
      path.startsWith('/api/v1/retrain-triggers') && api.calls.some((c) => c.includes('/drift?'))
        ? { status: 200, body: { triggers: [trigger] } }
        : undefined,
    );
    const { sim } = simulator(api, sink, {
      settleTimeoutMs: 50,
      status,
      summaryWritten: (text) => writes.push({ to: 'summary', text }),
    });
    await sim.run();
    const at = writes.findIndex((w) => w.to === 'summary');
    expect(writes[at]!.text).toContain(
      '\n  trigger     drift       version 1, window 2021-06-01 to 2021-06-02',
    );
    const lines = writes.slice(0, at).filter((w) => w.text.includes('simulated '));
    expect(lines.at(-1)!.text).toMatch(/ · ingested \d+ · drift none · triggers 1\n$/);
  }, 30_000);

  it("plays the story again after a version's stage was changed since the first run (regression: a 409 stopped it)", async () => {
    const registry = new StubRegistry();
    const firstSink = new RecordingSink();
    await simulator(new StubApi(firstSink, registry.route), firstSink, { settleTimeoutMs: 50 }).sim.run();
    const sink = new RecordingSink();
    const api = new StubApi(sink, registry.route);
    await api.ok('PATCH', '/api/v1/models/california/versions/2', { stage: 'production' });

    const logs: string[] = [];
    const status = new StatusLine({ isTTY: false, write: (text: string) => logs.push(text) });
    const logger = createLogger('info', { format: 'pretty', status });
    const { sim, written } = simulator(api, sink, { settleTimeoutMs: 50, status, logger });
    await sim.run();
    expect(written.join('')).toContain('modelwatch: the story is told');
    expect(sink.count(topics.predictions)).toBe(plan.predictions.length);
    expect(registry.versions.get('2')?.stage).toBe('production');
    const log = logs.join('');
    expect(log).toContain(
      'simulator: version 2 is registered already, in stage production (changed since): kept',
    );
    // No challenger in shadow: no wait for shadow scoring (the other end steps time out here).
    expect(log).toContain('timed out waiting for the last complete window evaluated');
    expect(log).not.toContain('every prediction scored in shadow');
  }, 30_000);

  it.each(['production', 'archived'])(
    'refuses a version registered with another artifact (stage %s), naming it, and publishes nothing',
    async (stage) => {
      const registry = new StubRegistry();
      const sink = new RecordingSink();
      const api = new StubApi(sink, registry.route);
      const other = { version: '1', stage, artifact: { format: 'onnx', base64: 'b3RoZXI=' } };
      await api.ok('POST', '/api/v1/models/california/versions', other);
      const { sim } = simulator(api, sink);
      await expect(sim.run()).rejects.toMatchObject({
        code: 'API_REFUSED',
        message: expect.stringMatching(
          /^simulator: model 'california' version '1' is registered with another artifact or other fields than the story's california-forest \(POST \/api\/v1\/models\/california\/versions: 409 version '1' is registered with another artifact\); run up on an empty MODELWATCH_DATA_DIR /,
        ) as unknown,
      });
      expect(sink.count(topics.predictions)).toBe(0);
    },
    30_000,
  );
});
