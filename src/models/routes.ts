import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import { normalizeClass } from './classes.js';
import type { ModelRegistry, ModelVersionRecord, VersionCorrection } from './registry.js';
import { STAGES, VersionChanged } from './registry.js';
import { TASKS } from './task.js';
import { errorBody, errorSchema } from '../api/index.js';

export interface ModelRoutesDeps {
  models: ModelRegistry;
}

export const versionProperties = {
  version: { type: 'string' },
  task: { type: 'string', enum: [...TASKS] },
  task_source: { type: 'string', enum: ['inferred', 'declared'] },
  positive_class: { type: 'string', description: 'binary: the class counted as positive' },
  stage: { type: 'string', enum: [...STAGES] },
  first_seen: { type: 'string', format: 'date-time' },
} as const;

const versionSchema = {
  type: 'object',
  additionalProperties: false,
  properties: versionProperties,
  required: ['version', 'task', 'task_source', 'positive_class', 'stage', 'first_seen'],
} as const;

const modelsResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { model_id: { type: 'string' }, versions: { type: 'array', items: versionSchema } },
        required: ['model_id', 'versions'],
      },
    },
  },
  required: ['models'],
} as const;

const CORRECTABLE = ['task', 'positive_class', 'stage'] as const;

const correctionBody = {
  type: 'object',
  properties: {
    task: { type: 'string', enum: [...TASKS] },
    positive_class: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: "'true'/'false' are stored as '1'/'0'",
    },
    stage: { type: 'string', enum: [...STAGES] },
  },
  minProperties: 1,
} as const;

const byVersion = new Intl.Collator('en', { numeric: true });

/**
 * The fields of a PATCH that would change a registered version's task or positive class (as
 * `body/…`), undefined when none does: the shadow scorer loads the artifact with the metadata
 * stored at registration (`feature_schema`), which a correction does not rewrite, while the
 * report reads the rows by the version's task and positive class. Giving the registered value
 * again changes nothing and is allowed.
 */
function registeredFields(current: ModelVersionRecord, changes: VersionCorrection): string | undefined {
  const fixed = [
    ...(changes.task !== undefined && changes.task !== current.task ? ['body/task'] : []),
    ...(changes.positive_class !== undefined && changes.positive_class !== current.positive_class
      ? ['body/positive_class']
      : []),
  ];
  return fixed.length === 0 ? undefined : fixed.join(', ');
}

type CorrectionOutcome =
  { status: 200; record: ModelVersionRecord } | { status: 400 | 404 | 409; message: string };

/** A PATCH's checks and write: the registered-fields 409, the predicted-class 400, the write. */
async function correctChecked(
  registry: ModelRegistry,
  model: string,
  version: string,
  changes: VersionCorrection,
): Promise<CorrectionOutcome> {
  const unknown = { status: 404, message: `unknown model version '${model}' '${version}'` } as const;
  const current = await registry.version(model, version);
  if (current === undefined) return unknown;
  if (current.artifact_sha256 !== '') {
    const fixed = registeredFields(current, changes);
    if (fixed !== undefined)
      return {
        status: 409,
        message: `${fixed}: model '${model}' version '${version}' was registered with an artifact, so its task ('${current.task}') and positive class ('${current.positive_class}') are fixed at registration (the shadow scorer loads the artifact with them); register a new version to change them (its stage still changes here)`,
      };
  } else if (changes.positive_class !== undefined) {
    // A registered version's positive class is one of its artifact's classes, checked at registration.
    const check = await registry.predictedClass(model, version, changes.positive_class);
    if (!check.found) {
      const seen =
        check.seen.length === 0
          ? 'it has no predictions yet'
          : `it predicted: ${check.seen.map((c) => `'${c}'`).join(', ')}`;
      return {
        status: 400,
        message: `body/positive_class: model '${model}' version '${version}' never predicted '${changes.positive_class}' (${seen})`,
      };
    }
  }
  try {
    const record = await registry.correct(model, version, changes, { expectedRevision: current.revision });
    return record === undefined ? unknown : { status: 200, record };
  } catch (err) {
    // Another instance wrote the version after the checks above read it.
    if (err instanceof VersionChanged) return { status: 409, message: err.message };
    throw err;
  }
}

export function versionView(r: ModelVersionRecord) {
  return {
    version: r.model_version,
    task: r.task,
    task_source: r.task_source,
    positive_class: r.positive_class,
    stage: r.stage,
    first_seen: isoMillis(r.first_seen),
  };
}

/** The registry's text may carry microseconds ('…00.000000Z'); the API speaks ISO-8601 with milliseconds. */
function isoMillis(text: string): string {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : text;
}

/** GET /models (viewer) and PATCH /models/:model/versions/:version (admin; corrects task, positive class, stage). */
export function modelRoutes(deps: ModelRoutesDeps): FastifyPluginAsync {
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models',
      {
        config: { role: 'viewer' },
        schema: {
          summary: 'Models with their versions, task and stage',
          tags: ['models'],
          response: { 200: modelsResponse },
        },
      },
      async () => {
        const grouped = new Map<string, ModelVersionRecord[]>();
        for (const r of await deps.models.list())
          grouped.set(r.model_id, [...(grouped.get(r.model_id) ?? []), r]);
        return {
          models: [...grouped].map(([model_id, versions]) => ({
            model_id,
            versions: versions
              .sort((a, b) => byVersion.compare(a.model_version, b.model_version))
              .map(versionView),
          })),
        };
      },
    );

    app.patch(
      '/models/:model/versions/:version',
      {
        config: { role: 'admin' },
        schema: {
          summary: "Correct a version's task, positive class or stage",
          description:
            'Writes a new revision of the version; fields not given keep their value. A task given here becomes task_source=declared. A version registered with an artifact keeps the task and positive class it was registered with (409): register a new version to change them; its stage changes here.',
          tags: ['models'],
          params: {
            type: 'object',
            properties: {
              model: { type: 'string', minLength: 1 },
              version: { type: 'string', minLength: 1 },
            },
            required: ['model', 'version'],
          },
          body: correctionBody,
          response: {
            200: {
              type: 'object',
              additionalProperties: false,
              properties: { model_id: { type: 'string' }, ...versionProperties },
            },
            400: errorSchema,
            404: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const { model, version } = request.params;
        // Checked here rather than with additionalProperties, whose validation message does not name the field.
        const unknown = Object.keys(request.body).find(
          (k) => !(CORRECTABLE as readonly string[]).includes(k),
        );
        if (unknown !== undefined) {
          return reply
            .code(400)
            .send(
              errorBody(400, `body/${unknown}: not a correctable field (allowed: ${CORRECTABLE.join(', ')})`),
            );
        }
        const { task, positive_class, stage } = request.body;
        const changes = {
          task,
          stage,
          positive_class: positive_class === undefined ? undefined : normalizeClass(positive_class),
        };
        // Checked and written alone among this version's registrations and corrections, against
        // the row checked: a registration landing in between would otherwise be overwritten.
        const outcome = await deps.models.exclusive(model, version, () =>
          correctChecked(deps.models, model, version, changes),
        );
        if (outcome.status !== 200)
          return reply.code(outcome.status).send(errorBody(outcome.status, outcome.message));
        const updated = outcome.record;
        await request.auditChange({
          action: 'model_version.restage',
          resource_type: 'model_version',
          resource_id: `${model}/${version}`,
          model_id: model,
          details: { ...request.body },
        });
        return { model_id: updated.model_id, ...versionView(updated) };
      },
    );
    return Promise.resolve();
  };
  return plugin;
}
