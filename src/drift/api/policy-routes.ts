/**
 * PUT and GET /models/:model/policy: a model's policy, one JSON section per concern. Drift owns
 * `drift`; other capabilities pass their sections in (e.g. `retrain`), each with its zod schema.
 * A PUT replaces the sections it names and keeps the others.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { DriftError } from '../errors.js';
import { driftPolicySchema, effectiveDriftPolicy, type DriftPolicy } from '../engine/settings.js';
import type { DriftService } from '../service/drift-service.js';
import type { PolicyStore, StoredPolicy } from '../store/policies.js';
import { errorSchema, modelParams } from './schemas.js';
import { sendError } from './send-error.js';

export interface PolicyRoutesDeps {
  service: DriftService;
  policies: PolicyStore;
  sections: Record<string, z.ZodType>;
}

interface PolicyRequest {
  Params: { model: string };
  Body: Record<string, unknown>;
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

export function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].join('.');
      if (issue.code === 'unrecognized_keys')
        return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** The stored drift section; one that no longer validates (an older schema) reads as the defaults. */
function storedDrift(stored: StoredPolicy | undefined): DriftPolicy {
  const parsed = driftPolicySchema.safeParse(stored?.sections['drift'] ?? {});
  return parsed.success ? parsed.data : {};
}

export function policyRoutes(deps: PolicyRoutesDeps): FastifyPluginAsync {
  const sections: Record<string, z.ZodType> = { drift: driftPolicySchema, ...deps.sections };
  const bodySchema = z.strictObject(
    Object.fromEntries(Object.entries(sections).map(([name, s]) => [name, s.optional()])),
  );
  const present = (stored: StoredPolicy | undefined, modelId: string) => ({
    model_id: modelId,
    revision: stored?.revision ?? 0,
    updated_at: stored ? new Date(stored.updatedAt).toISOString() : null,
    updated_by: stored?.updatedBy ?? null,
    ...stored?.sections,
    drift: effectiveDriftPolicy(storedDrift(stored)),
  });
  const response = {
    type: 'object',
    additionalProperties: true,
    properties: {
      model_id: { type: 'string' },
      revision: { type: 'integer' },
      updated_at: { type: ['string', 'null'] },
      updated_by: { type: ['string', 'null'] },
      drift: { ...jsonSchema(driftPolicySchema), description: 'drift settings with every default filled in' },
    },
    required: ['model_id', 'revision', 'updated_at', 'updated_by', 'drift'],
  };
  return (app) => {
    app.put<PolicyRequest>(
      '/models/:model/policy',
      {
        config: { role: 'admin' },
        schema: {
          summary: "Set a model's policy sections (drift settings, and the retrain policy once it exists)",
          description: `Sections: ${Object.keys(sections).join(', ')}. Each section given replaces the stored one; sections not given are kept. Unknown fields are rejected.`,
          tags: ['drift'],
          params: modelParams,
          body: jsonSchema(bodySchema),
          response: { 200: response, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          await deps.service.versions(request.params.model);
          const parsed = bodySchema.safeParse(request.body);
          if (!parsed.success) throw new DriftError('BAD_INPUT', describeIssues(parsed.error, 'body'));
          const given = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
          if (Object.keys(given).length === 0)
            throw new DriftError(
              'BAD_INPUT',
              `body: give at least one section (${Object.keys(sections).join(', ')})`,
            );
          const stored = await deps.policies.put(
            request.params.model,
            given,
            request.principal?.name ?? 'unknown',
          );
          request.log.info(
            { model: request.params.model, sections: Object.keys(given), by: stored.updatedBy },
            'policy changed',
          );
          await request.auditChange({
            action: 'policy.change',
            resource_type: 'model',
            resource_id: request.params.model,
            model_id: request.params.model,
            details: { sections: Object.keys(given) },
          });
          return present(stored, request.params.model);
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );
    app.get<{ Params: { model: string } }>(
      '/models/:model/policy',
      {
        config: { role: 'viewer' },
        schema: {
          summary: "A model's policy, drift settings with their defaults",
          tags: ['drift'],
          params: modelParams,
          response: { 200: response, 404: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          await deps.service.versions(request.params.model);
          return present(await deps.policies.get(request.params.model), request.params.model);
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );
    return Promise.resolve();
  };
}
