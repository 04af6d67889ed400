import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errorSchema } from '../api/index.js';
import { MAX_CATEGORIES } from '../inference/index.js';
import { registerVersion, RegistrationConflict, type RegistrationDeps } from './register.js';
import { STAGES } from './registry.js';
import { versionProperties, versionView } from './routes.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';

/** 64 MiB of JSON: an artifact of about 48 MiB as base64. */
export const REGISTRATION_BODY_LIMIT = 64 * 1024 * 1024;

const name = { type: 'string', minLength: 1, maxLength: 256 } as const;

const registrationBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { ...name, maxLength: MAX_EVENT_ID_LENGTH },
    stage: { type: 'string', enum: [...STAGES] },
    task: { type: 'string', enum: ['binary_classification', 'multiclass_classification', 'regression'] },
    positive_class: {
      ...name,
      description: "binary: the class counted as positive; 'true'/'false' are stored as '1'/'0'",
    },
    classes: {
      type: 'array',
      maxItems: 1000,
      items: name,
      description:
        "the graph's classes in probability-column order; default: the artifact's metadata_props['modelwatch'], else its graph's classifier node's; a list other than that node's is a 400",
    },
    features: {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name,
          type: { type: 'string', enum: ['number', 'string'] },
          categories: {
            type: 'array',
            minItems: 1,
            maxItems: MAX_CATEGORIES,
            items: { type: 'string', maxLength: 256 },
          },
        },
        required: ['name', 'type'],
      },
    },
    artifact: {
      type: 'object',
      additionalProperties: false,
      properties: { format: { type: 'string', enum: ['onnx'] }, base64: { type: 'string' } },
      required: ['format', 'base64'],
    },
    training_data: {
      type: 'object',
      additionalProperties: false,
      properties: {
        uri: { type: 'string', minLength: 1, maxLength: 2048 },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'lowercase hex' },
      },
      required: ['uri', 'sha256'],
    },
  },
  required: ['version', 'stage', 'task', 'features', 'artifact', 'training_data'],
} as const;

const registeredResponse = {
  type: 'object',
  additionalProperties: false,
  properties: { model_id: { type: 'string' }, ...versionProperties, artifact_sha256: { type: 'string' } },
} as const;

/** Fastify's body-size refusal (413) is a 400 naming the limit on this route, as SPEC 7 asks. */
function tooLarge(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | undefined {
  if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') return undefined;
  return reply
    .code(400)
    .header('x-request-id', request.id)
    .send(
      errorBody(
        400,
        `body: over the ${REGISTRATION_BODY_LIMIT} byte limit of this route (the artifact as base64 included)`,
      ),
    );
}

export type RegisterRouteDeps = RegistrationDeps;

/** POST /models/:model/versions (admin): a version with its ONNX artifact (SPEC 7). */
export function registerRoute(deps: RegisterRouteDeps): FastifyPluginAsyncJsonSchemaToTs {
  return (app) => {
    app.post(
      '/models/:model/versions',
      {
        config: { role: 'admin' },
        bodyLimit: REGISTRATION_BODY_LIMIT,
        errorHandler(error, request, reply) {
          if (tooLarge(error, request, reply) === undefined) throw error;
        },
        schema: {
          summary: 'Register a model version with its ONNX artifact',
          description:
            'The artifact is loaded and its graph checked against the declared features before anything is stored; its SHA-256 is recorded. A corrupt artifact, a graph that does not match, or a body over 64 MiB is a 400 naming the problem. A version is registered once: registering it again is idempotent only as an exact repeat; with another artifact, or the same one and any other field, it is a 409 naming what differs.',
          tags: ['models'],
          params: {
            type: 'object',
            properties: { model: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH } },
            required: ['model'],
          },
          body: registrationBody,
          response: { 201: registeredResponse, 400: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        const { model } = request.params;
        let record;
        try {
          record = await registerVersion(deps, model, request.body);
        } catch (err) {
          if (err instanceof RegistrationConflict) return reply.code(409).send(errorBody(409, err.message));
          throw err;
        }
        await request.auditChange({
          action: 'model_version.register',
          resource_type: 'model_version',
          resource_id: `${model}/${record.model_version}`,
          model_id: model,
          details: {
            stage: record.stage,
            task: record.task,
            positive_class: record.positive_class,
            artifact_sha256: record.artifact_sha256,
            training_data_uri: record.training_data_uri,
            training_data_sha256: record.training_data_sha256,
          },
        });
        return reply
          .code(201)
          .send({ model_id: model, ...versionView(record), artifact_sha256: record.artifact_sha256 });
      },
    );
    return Promise.resolve();
  };
}
