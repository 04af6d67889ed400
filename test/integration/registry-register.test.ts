import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { startService } from '../../src/service/index.js';
import { linearClassifierOnnx } from '../support/onnx-linear.js';
import { bundledArtifact, californiaBody, CALIFORNIA_FEATURES, send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

const URL = '/api/v1/models/california/versions';

/** The logistic artifact with its metadata_props key renamed (same length, so the protobuf stays valid). */
function stripMetadata(): Buffer {
  const bytes = Buffer.from(bundledArtifact('california-logistic'));
  // StringStringEntryProto.key: field 1, length 10, 'modelwatch'.
  const at = bytes.indexOf(Buffer.concat([Buffer.from([0x0a, 0x0a]), Buffer.from('modelwatch')]));
  expect(at).toBeGreaterThan(0);
  bytes.write('modelwatcX', at + 2);
  return bytes;
}

/** A SPEC 7 body for a stock skl2onnx export of test/fixtures/skl2onnx-stock/ (3 number features). */
function stockBody(name: string, overrides: Record<string, unknown>): Record<string, unknown> {
  // globalThis: this file's URL is the route.
  const artifact = readFileSync(
    new globalThis.URL(`../fixtures/skl2onnx-stock/${name}.onnx`, import.meta.url),
  );
  return californiaBody({
    features: ['a', 'b', 'c'].map((feature) => ({ name: feature, type: 'number' })),
    artifact: { format: 'onnx', base64: artifact.toString('base64') },
    ...overrides,
  });
}

describe('POST /models/:model/versions (SPEC 7)', () => {
  it('registers the California logistic model, lists it, keeps its artifact across a restart', async () => {
    const service = await startTestService();
    const sha = createHash('sha256').update(bundledArtifact('california-logistic')).digest('hex');
    const created = await send(service, 'POST', URL, californiaBody());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      model_id: 'california',
      version: '2',
      stage: 'shadow',
      task: 'binary_classification',
      task_source: 'declared',
      positive_class: '1',
      artifact_sha256: sha,
    });
    const listed = (await service.get('/api/v1/models')).body as {
      models: { model_id: string; versions: unknown[] }[];
    };
    const { artifact_sha256: _, model_id: __, ...asListed } = created.body;
    expect(listed.models).toEqual([{ model_id: 'california', versions: [asListed] }]);

    // Same bytes again: idempotent. Other bytes under the same version: 409.
    expect((await send(service, 'POST', URL, californiaBody())).status).toBe(201);
    const other = californiaBody({
      artifact: { format: 'onnx', base64: bundledArtifact('california-forest').toString('base64') },
    });
    const conflict = await send(service, 'POST', URL, other);
    expect([conflict.status, conflict.body.message]).toEqual([409, expect.stringContaining(`sha256 ${sha}`)]);

    // Stage changes keep working on a registered version.
    const restaged = await send(service, 'PATCH', `${URL}/2`, { stage: 'archived' });
    expect([restaged.status, restaged.body['stage']]).toEqual([200, 'archived']);

    // A second instance on the same ClickHouse (here: the same database after a restart) finds the artifact.
    await service.close();
    const again = await startService({
      config: service.config,
      logger: createLogger('warn', 'restart'),
      brokers: service.config.kafka.brokers ?? [],
      port: 0,
    });
    try {
      await again.ready;
      const [version] = await again.use(models).registry.list('california');
      expect([version?.stage, version?.artifact_sha256, version?.training_data_sha256]).toEqual([
        'archived',
        sha,
        'a'.repeat(64),
      ]);
      const stored = await again.use(models).artifacts.get('california', '2', sha);
      expect(stored && createHash('sha256').update(stored.bytes).digest('hex')).toBe(sha);
      expect(JSON.parse(version?.feature_schema ?? '{}')).toMatchObject({
        classes: ['0', '1'],
        positive_class: '1',
      });
    } finally {
      await again.close();
    }
  });

  it('registers a version once: an exact repeat is idempotent, another field a 409 naming it', async () => {
    const service = await startTestService();
    const created = await send(service, 'POST', URL, californiaBody());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const stored = async () => (await service.use(models).registry.list('california'))[0];
    const registered = await stored();

    // 'true' is stored as '1'; the features' keys in another order are the same features.
    const repeat = await send(
      service,
      'POST',
      URL,
      californiaBody({
        positive_class: 'true',
        features: CALIFORNIA_FEATURES.map((name) => ({ type: 'number', name })),
      }),
    );
    expect([repeat.status, repeat.body]).toEqual([201, created.body]);

    const newVersion = 'a registered version does not change: register a new version';
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'features in another order',
        californiaBody({
          features: [...CALIFORNIA_FEATURES].reverse().map((name) => ({ name, type: 'number' })),
        }),
        `is registered with this artifact and other features; ${newVersion}`,
      ],
      [
        'another stage',
        californiaBody({ stage: 'production' }),
        `other stage ('shadow' registered, 'production' given); ${newVersion} (or change its stage alone with PATCH /models/california/versions/2)`,
      ],
      [
        'another task',
        californiaBody({ task: 'multiclass_classification' }),
        `other task ('binary_classification' registered, 'multiclass_classification' given); ${newVersion}`,
      ],
      [
        'another positive class',
        californiaBody({ positive_class: '0' }),
        `other positive_class ('1' registered, '0' given); ${newVersion}`,
      ],
      ['classes in another order', californiaBody({ classes: ['1', '0'] }), `other classes; ${newVersion}`],
      [
        'other training data and stage',
        californiaBody({ stage: 'archived', training_data: { uri: 's3://other', sha256: 'b'.repeat(64) } }),
        "other stage ('shadow' registered, 'archived' given), training_data.uri (",
      ],
    ];
    for (const [what, body, message] of cases) {
      const answer = await send(service, 'POST', URL, body);
      expect([what, answer.status, answer.body.message], what).toEqual([
        what,
        409,
        expect.stringContaining(message),
      ]);
    }
    // Nothing rewritten: the scorer's session and the stored metadata agree.
    expect(await stored()).toEqual(registered);
    expect(
      await service.rows("SELECT revision FROM model_versions WHERE model_id = 'california'"),
    ).toHaveLength(1);
    // As the message says: a new version takes the other features.
    const next = await send(
      service,
      'POST',
      URL,
      californiaBody({
        version: '3',
        features: [...CALIFORNIA_FEATURES].reverse().map((name) => ({ name, type: 'number' })),
      }),
    );
    expect(next.status, JSON.stringify(next.body)).toBe(201);
  });

  it("PATCH keeps a registered version's task and positive class (409), and changes its stage", async () => {
    const service = await startTestService();
    expect((await send(service, 'POST', URL, californiaBody())).status).toBe(201);
    const registered = (await service.use(models).registry.list('california'))[0];

    const fixed =
      "model 'california' version '2' was registered with an artifact, so its task ('binary_classification') and positive class ('1') are fixed at registration";
    const task = await send(service, 'PATCH', `${URL}/2`, { task: 'multiclass_classification' });
    expect([task.status, task.body.message]).toEqual([409, expect.stringContaining(`body/task: ${fixed}`)]);
    expect(task.body.message).toContain('register a new version to change them');
    // A challenger writes no predictions: this was a 400 "it has no predictions yet".
    const positive = await send(service, 'PATCH', `${URL}/2`, { positive_class: '0', stage: 'production' });
    expect([positive.status, positive.body.message]).toEqual([
      409,
      expect.stringContaining(`body/positive_class: ${fixed}`),
    ]);
    const both = await send(service, 'PATCH', `${URL}/2`, { task: 'regression', positive_class: 'x' });
    expect([both.status, both.body.message]).toEqual([
      409,
      expect.stringContaining(`body/task, body/positive_class: ${fixed}`),
    ]);
    expect(await service.use(models).registry.list('california')).toEqual([registered]);

    // The registered values again change nothing; the stage changes.
    const same = await send(service, 'PATCH', `${URL}/2`, {
      task: 'binary_classification',
      positive_class: 'true',
      stage: 'production',
    });
    expect([same.status, same.body['task'], same.body['positive_class'], same.body['stage']]).toEqual([
      200,
      'binary_classification',
      '1',
      'production',
    ]);
    const [after] = await service.use(models).registry.list('california');
    expect({ ...after, stage: registered?.stage }).toEqual(registered);
  });

  it("registers a SPEC 7 body (no classes) with an artifact without metadata: the classes are its graph's", async () => {
    const service = await startTestService();
    // The California logistic model without its metadata_props: its LinearClassifier lists [0, 1].
    const stripped = californiaBody({
      artifact: { format: 'onnx', base64: stripMetadata().toString('base64') },
    });
    const created = await send(service, 'POST', URL, stripped);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // A stock skl2onnx export (input 'X', no metadata) with string classes on a TreeEnsembleClassifier.
    const stock = stockBody('tree-strings', { positive_class: 'dog' });
    const tree = await send(service, 'POST', '/api/v1/models/stock/versions', stock);
    expect(tree.status, JSON.stringify(tree.body)).toBe(201);
    // Integer classes beyond int32, multiclass.
    const int64 = stockBody('logistic-int64', {
      version: '3',
      task: 'multiclass_classification',
      positive_class: undefined,
    });
    const multiclass = await send(service, 'POST', '/api/v1/models/stock/versions', int64);
    expect(multiclass.status, JSON.stringify(multiclass.body)).toBe(201);

    const classes = async (model: string, version: string) => {
      const stored = (await service.use(models).registry.list(model)).find(
        (v) => v.model_version === version,
      );
      return (JSON.parse(stored?.feature_schema ?? '{}') as { classes?: string[] }).classes;
    };
    expect(await classes('california', '2')).toEqual(['0', '1']);
    expect(await classes('stock', '2')).toEqual(['cat', 'dog']);
    expect(await classes('stock', '3')).toEqual(['-3', '7', '5000000000']);
    // The classes read off the graph are the ones stored: the same body again is an exact repeat.
    expect((await send(service, 'POST', URL, stripped)).body).toEqual(created.body);
  });

  it('refuses, naming the problem, and stores nothing', async () => {
    const service = await startTestService();
    const cases: [string, Record<string, unknown> | string, number, string][] = [
      [
        'corrupt bytes',
        californiaBody({
          artifact: { format: 'onnx', base64: Buffer.from('not an onnx model at all').toString('base64') },
        }),
        400,
        'body/artifact: ONNX artifact could not be loaded',
      ],
      [
        'truncated artifact',
        californiaBody({
          artifact: {
            format: 'onnx',
            base64: bundledArtifact('california-logistic').subarray(0, 700).toString('base64'),
          },
        }),
        400,
        'body/artifact:',
      ],
      [
        'not base64',
        californiaBody({ artifact: { format: 'onnx', base64: 'abc$' } }),
        400,
        'body/artifact/base64: not base64',
      ],
      [
        'empty artifact',
        californiaBody({ artifact: { format: 'onnx', base64: '' } }),
        400,
        'body/artifact/base64: empty',
      ],
      [
        '7 features for an 8-column graph',
        californiaBody({
          features: CALIFORNIA_FEATURES.slice(0, 7).map((name) => ({ name, type: 'number' })),
        }),
        400,
        'expected [N, 7]',
      ],
      [
        "classes in another order than the graph's classifier node lists",
        californiaBody({ classes: ['1', '0'] }),
        400,
        'body/artifact: graph does not match the metadata: classes ["1","0"] are not the graph\'s: its classifier node lists ["0","1"]',
      ],
      [
        'positive class not a class',
        californiaBody({ positive_class: 'yes' }),
        400,
        "positive_class: 'yes' is not one of classes",
      ],
      [
        'duplicate feature',
        californiaBody({
          features: [...CALIFORNIA_FEATURES.slice(0, 7), 'MedInc'].map((name) => ({ name, type: 'number' })),
        }),
        400,
        "duplicate feature 'MedInc'",
      ],
      [
        '10,001 features',
        californiaBody({
          features: Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}`, type: 'number' })),
        }),
        400,
        'features',
      ],
      [
        'no artifact format',
        californiaBody({ artifact: { format: 'pickle', base64: 'AAAA' } }),
        400,
        'format',
      ],
      [
        'training sha not hex',
        californiaBody({ training_data: { uri: 's3://x', sha256: 'zz' } }),
        400,
        'training_data/sha256',
      ],
      [
        'no classes anywhere: no body classes, no metadata, no classifier node in the graph',
        californiaBody({
          artifact: {
            format: 'onnx',
            base64: linearClassifierOnnx({ weights: CALIFORNIA_FEATURES.map(() => 1), bias: 0 }).toString(
              'base64',
            ),
          },
        }),
        400,
        'body/classes: required for this artifact',
      ],
      [
        'embedded metadata null',
        californiaBody({
          artifact: {
            format: 'onnx',
            base64: linearClassifierOnnx({
              weights: CALIFORNIA_FEATURES.map(() => 1),
              bias: 0,
              metadataProps: { modelwatch: 'null' },
            }).toString('base64'),
          },
        }),
        400,
        'body/artifact: metadata_props["modelwatch"] is null, expected a JSON object',
      ],
      ['stage unknown', californiaBody({ stage: 'canary' }), 400, 'stage'],
      [
        'over 64 MiB',
        JSON.stringify(
          californiaBody({ artifact: { format: 'onnx', base64: 'A'.repeat(64 * 1024 * 1024) } }),
        ),
        400,
        'over the 67108864 byte limit',
      ],
    ];
    for (const [what, body, status, message] of cases) {
      const answer = await send(service, 'POST', URL, body);
      expect([what, answer.status, answer.body.message], what).toEqual([
        what,
        status,
        expect.stringContaining(message),
      ]);
    }
    expect(await service.rows('SELECT model_id FROM model_versions')).toEqual([]);
    expect(await service.rows('SELECT model_id FROM model_artifacts')).toEqual([]);
    // A viewer-less request (no key) is refused before the body is read.
    const anonymous = await service.app.inject({ method: 'POST', url: URL, payload: californiaBody() });
    expect(anonymous.statusCode).toBe(401);
  });
});
