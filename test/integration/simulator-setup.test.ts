import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/simulator/api-client.js';
import { registerModel } from '../../src/simulator/setup.js';
import { bundledArtifact, californiaBody } from '../support/registry.js';
import { startTestService, type TestService } from '../support/service.js';

/** The simulator's client of `service`, as `up` makes it (loopback, the admin key). */
function simulatorApi(service: TestService): ApiClient {
  return new ApiClient(service.url.replace('0.0.0.0', '127.0.0.1'), service.config.api.adminKey ?? '');
}

async function stages(api: ApiClient): Promise<Record<string, string>> {
  const { models } = await api.ok<{ models: { versions: { version: string; stage: string }[] }[] }>(
    'GET',
    '/api/v1/models',
  );
  return Object.fromEntries((models[0]?.versions ?? []).map((v) => [v.version, v.stage]));
}

describe("the simulator's registration on a data dir an earlier run used (npm start again)", () => {
  it('keeps a version whose stage was changed since with PATCH (regression: the 409 stopped the story)', async () => {
    const api = simulatorApi(await startTestService());
    expect(await registerModel(api)).toEqual({ 1: 'production', 2: 'shadow' });
    await api.ok('PATCH', '/api/v1/models/california/versions/2', { stage: 'production' });

    expect(await registerModel(api)).toEqual({ 1: 'production', 2: 'production' });
    expect(await stages(api)).toEqual({ 1: 'production', 2: 'production' });
  });

  it('refuses a version registered with another artifact, naming the version and what to do', async () => {
    const api = simulatorApi(await startTestService());
    // Version 1 is the story's random forest; here it holds the logistic model, then is archived.
    const logistic = bundledArtifact('california-logistic').toString('base64');
    const other = californiaBody({ version: '1', artifact: { format: 'onnx', base64: logistic } });
    await api.ok('POST', '/api/v1/models/california/versions', other);
    await api.ok('PATCH', '/api/v1/models/california/versions/1', { stage: 'archived' });

    await expect(registerModel(api)).rejects.toMatchObject({
      code: 'API_REFUSED',
      message: expect.stringMatching(
        /^simulator: model 'california' version '1' is registered with another artifact or other fields than the story's california-forest \(POST \/api\/v1\/models\/california\/versions: 409 model 'california' version '1' is registered with another artifact \(sha256 [0-9a-f]{64}\); register a new version\); run up on an empty MODELWATCH_DATA_DIR/,
      ) as unknown,
    });
    expect(await stages(api)).toEqual({ 1: 'archived' });
  });
});
