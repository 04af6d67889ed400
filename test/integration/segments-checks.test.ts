import { describe, expect, it } from 'vitest';
import {
  missingFilter,
  otherFilter,
  resolveSegments,
  valueFilter,
  type SegmentFilter,
} from '../../src/segments/index.js';
import { produce, waitFor } from '../support/harness.js';
import { send } from '../support/registry.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitForModel } from '../support/triggers.js';

const T0 = Date.UTC(2026, 3, 1);
const HOUR = 3_600_000;
const range = `from=${T0}&to=${T0 + HOUR}`;

/** Predictions of `nz` whose feature n is sent as -0.0 (a Python producer's round(-0.0001, 2)), 0 or 1, each labeled. */
async function negativeZeros(service: TestService): Promise<{ n: string }[]> {
  const sent = Array.from({ length: 30 }, (_, i) => ({ n: ['-0.0', '0', '1'][i % 3]! }));
  // Raw JSON: JSON.stringify would write -0 as 0.
  const predictions = sent.map(
    ({ n }, i) =>
      `{"prediction_id":"z-${i}","model_id":"nz","model_version":"1","timestamp":${T0 + i * 60_000},` +
      `"features":{"n":${n}},"prediction":1,"tags":{"channel":"web"}}`,
  );
  const labels = sent.map((_, i) => ({
    prediction_id: `z-${i}`,
    model_id: 'nz',
    label: i % 2,
    timestamp: T0 + i * 60_000 + 5,
  }));
  await produce(service.config.topics.predictions, predictions, (i) => `z-${i}`);
  await produce(service.config.topics.labels, labels, (i) => `zl-${i}`);
  await waitFor('the predictions and labels stored', async () => {
    const [p] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
    const [l] = await service.rows<{ n: number }>('SELECT count() AS n FROM labels FINAL');
    return Number(p?.n) === sent.length && Number(l?.n) === sent.length ? true : undefined;
  });
  await waitForModel(service, 'nz');
  return sent;
}

async function matching(service: TestService, filter: SegmentFilter): Promise<number> {
  const [row] = await service.rows<{ n: number }>(
    `SELECT count() AS n FROM predictions FINAL WHERE model_id = 'nz' AND (${filter.sql})`,
    filter.params,
  );
  return Number(row?.n);
}

describe('segment checks', () => {
  it('source=stored on an unknown model is a 404 (SPEC 9), on drift and quality', async () => {
    const service = await startTestService();
    for (const route of ['drift', 'quality']) {
      const r = await send(
        service,
        'GET',
        `/api/v1/models/nope/${route}?${range}&segment=tag:x&source=stored`,
      );
      expect(r.status, `${route}: ${JSON.stringify(r.body)}`).toBe(404);
      expect(String(r.body.message)).toContain("unknown model 'nope'");
    }
  }, 120_000);

  it('-0 and 0 are one segment "0", and its filter (change detection\'s value=0 too) holds the -0 predictions', async () => {
    const service = await startTestService();
    const sent = await negativeZeros(service);
    // The -0 arrives as it was sent.
    const [stored] = await service.rows<{ s: string }>(
      "SELECT toString(features_num['n']) AS s FROM predictions FINAL WHERE prediction_id = 'z-0'",
    );
    expect(stored?.s).toBe('-0');
    const zeros = sent.filter(({ n }) => n !== '1').length;
    const spec = { kind: 'feature', name: 'n' } as const;
    const segments = await resolveSegments(
      service.platform.db,
      spec,
      { model: 'nz', versions: ['1'], from: T0, to: T0 + HOUR },
      10,
    );
    expect(segments.map((s) => [s.value, s.other, s.predictions])).toEqual([
      ['0', false, zeros],
      ['1', false, sent.length - zeros],
    ]);
    expect(await matching(service, valueFilter(spec, '0'))).toBe(zeros);
    expect(await matching(service, valueFilter(spec, '-0'))).toBe(0);
    expect(await matching(service, otherFilter(spec, ['1']))).toBe(zeros);
    expect(await matching(service, missingFilter(spec))).toBe(0);
    const change = await send(
      service,
      'GET',
      `/api/v1/models/nz/change-detection?${range}&segment=feature:n&value=0`,
    );
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    expect(change.body['values']).toBe(zeros);
  }, 120_000);

  it('change detection refuses (400) a feature or tag no prediction in the range has, as the other routes do', async () => {
    const service = await startTestService();
    const sent = await negativeZeros(service);
    for (const segment of ['tag:chanel', 'feature:nn']) {
      const r = await send(
        service,
        'GET',
        `/api/v1/models/nz/change-detection?${range}&segment=${segment}&value=web`,
      );
      expect(r.status, `${segment}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(String(r.body.message)).toMatch(/^querystring\/segment: no prediction of model 'nz' .* has the/);
    }
    // A name that exists with a value no prediction has: an empty stream, not a typo.
    const none = await send(
      service,
      'GET',
      `/api/v1/models/nz/change-detection?${range}&segment=tag:channel&value=app`,
    );
    expect(none.status).toBe(200);
    expect(none.body['values']).toBe(0);
    const web = await send(
      service,
      'GET',
      `/api/v1/models/nz/change-detection?${range}&segment=tag:channel&value=web`,
    );
    expect(web.body['values']).toBe(sent.length);
    // A range without predictions: nothing to check the name against, an empty stream.
    const empty = await send(
      service,
      'GET',
      `/api/v1/models/nz/change-detection?from=${T0 + 2 * HOUR}&to=${T0 + 3 * HOUR}&segment=tag:chanel&value=web`,
    );
    expect(empty.status).toBe(200);
    expect(empty.body['values']).toBe(0);
  }, 120_000);
});
