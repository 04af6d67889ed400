import { describe, expect, it } from 'vitest';
import { loadStoryData, planStory } from '../../../src/simulator/index.js';
import { formatSummary, gatherSummary } from '../../../src/simulator/summary.js';
import { RecordingSink, StubApi, topics } from './story-stub.js';

const plan = planStory(loadStoryData(), 42);

async function summaryText(api: StubApi): Promise<string> {
  return formatSummary(await gatherSummary(api, topics, plan, plan.end, true), plan, 'http://x', 'k');
}

describe('the closing summary', () => {
  it('tells a route that did not answer from a real negative: no "no column drifted" or "none emitted" then', async () => {
    const unavailable = { status: 503, body: { message: 'the engine is busy' } };
    const api = new StubApi(new RecordingSink(), (_method, path) =>
      /\/(drift|shadow|retrain-triggers|audit\/verify)\b/.test(path) ? unavailable : undefined,
    );
    const text = await summaryText(api);
    expect(text).not.toContain('no column drifted');
    expect(text).not.toContain('none emitted');
    expect(text).toMatch(
      /\n {2}drift {7}not read \(GET \/api\/v1\/models\/california\/drift\?.*: 503 the engine is busy\)\n/,
    );
    expect(text).toMatch(/\n {2}triggers {4}not read \(.*503 the engine is busy\)\n/);
    expect(text).toMatch(/\n {2}shadow {6}not read \(.*503 the engine is busy\)\n/);
    expect(text).toMatch(/\n {2}audit {7}not verified \(.*503 the engine is busy\)\n/);
  });

  it('says "not read" for /metrics refused, not zero events ingested', async () => {
    const api = new StubApi(new RecordingSink(), (_method, path) =>
      path === '/metrics' ? { status: 401, body: { message: 'missing or invalid API key' } } : undefined,
    );
    const text = await summaryText(api);
    expect(text).toMatch(/\n {2}ingested {4}not read \(GET \/metrics: 401 missing or invalid API key\)\n/);
    expect(text).not.toContain('0 events');
  });

  it('names the configured retrain topic on a published trigger, not the default', async () => {
    const trigger = (published: boolean) => ({
      trigger_id: published ? 't1' : 't2',
      model_version: '1',
      reason: 'drift',
      window: { start: '2021-07-01T00:00:00Z', end: '2021-08-01T00:00:00Z' },
      published,
    });
    const api = new StubApi(new RecordingSink(), (_method, path) =>
      path.startsWith('/api/v1/retrain-triggers')
        ? { status: 200, body: { triggers: [trigger(true), trigger(false)] } }
        : undefined,
    );
    const text = await summaryText(api);
    expect(text).toContain(
      '\n  trigger     drift       version 1, window 2021-07-01 to 2021-08-01, on team.retrain\n',
    );
    expect(text).toContain('window 2021-07-01 to 2021-08-01, not yet published\n');
    expect(text).not.toContain('ml.retrain-triggers');
  });

  it.each([
    ['before the reference period ended', -86_400_000],
    ['while waiting for the reference period to be stored', 0],
  ])(
    'says drift was not measured when the story stopped %s, not "no column drifted"',
    async (_when, offset) => {
      const api = new StubApi(new RecordingSink());
      const summary = await gatherSummary(api, topics, plan, plan.referenceEnd + offset, false);
      const text = formatSummary(summary, plan, 'http://x', 'k');
      expect(text).toContain('\n  drift       not measured yet (the reference period had not ended)\n');
      expect(text).not.toContain('no column drifted');
      expect(api.calls.some((c) => c.includes('/drift?'))).toBe(false);
    },
  );

  it('states the negatives the service did answer', async () => {
    const text = await summaryText(new StubApi(new RecordingSink()));
    expect(text).toContain('\n  drift       no column drifted\n');
    expect(text).toContain('\n  triggers    none emitted\n');
    expect(text).toContain('\n  audit       chain verified: 3 records in 1 chains\n');
    expect(text).toContain('\n  ingested    0 events: 0 predictions, 0 labels, 0 access-log events\n');
  });
});
