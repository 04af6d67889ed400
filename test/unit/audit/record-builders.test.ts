import { describe, expect, it } from 'vitest';
import { apiCallRecord, type ApiCall } from '../../../src/audit/record-builders.js';

const KEY = `mw_${'A1b2_C3d-'.repeat(5)}`;

const call = (params: ApiCall['params'], ids: Partial<ApiCall> = {}): ApiCall => ({
  at: Date.UTC(2026, 0, 1),
  principal: 'viewer-1',
  method: 'GET',
  route: '/api/v1/models/:model/metrics',
  status: 200,
  params,
  ...ids,
});

const paramsOf = (input: ApiCall) => apiCallRecord(input).details['params'];

describe('apiCallRecord redaction', () => {
  it('redacts a key-looking value under any name (regression: ?auth=mw_… was chained in clear)', () => {
    expect(paramsOf(call({ q: KEY, list: ['ok', `Bearer ${KEY}`], n: 3, model: 'credit-risk' }))).toEqual({
      q: '[redacted]',
      list: ['ok', '[redacted]'],
      n: 3,
      model: 'credit-risk',
    });
  });

  it('redacts secret-looking names (regression: auth and bearer were chained in clear)', () => {
    const names = [
      'auth',
      'bearer',
      'Authorization',
      'credentials',
      'passwd',
      'client_secret',
      'access_token',
    ];
    const more = ['api_key', 'sig', 'X-Signature', 'session_id', 'cookie'];
    const params = Object.fromEntries([...names, ...more].map((name) => [name, 'short']));
    expect(Object.values(paramsOf(call(params)) as object)).toEqual(
      Array(names.length + more.length).fill('[redacted]'),
    );
  });

  it('leaves ordinary parameters and short mw_ values alone', () => {
    const params = { from: '2026-01-01', bucket: '1h', model: 'mw_model', segment: 'country' };
    expect(paramsOf(call(params))).toEqual(params);
  });

  it('redacts a key used as a parameter name or as the model or entity id', () => {
    const record = apiCallRecord(call({ [KEY]: '1' }, { model_id: KEY, entity_id: KEY }));
    expect(record.details['params']).toEqual({ '[redacted]': '[redacted]' });
    expect(record).toMatchObject({ model_id: '[redacted]', entity_id: '[redacted]' });
  });

  it('marks an aborted call in its details, and only an aborted one', () => {
    expect(apiCallRecord({ ...call(undefined), aborted: true }).details).toMatchObject({ aborted: true });
    expect(apiCallRecord(call(undefined)).details).not.toHaveProperty('aborted');
  });
});
