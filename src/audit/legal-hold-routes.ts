/** Legal holds over the API (admin sets and releases, auditors read); each change is audited. */
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../api/index.js';
import { ModelwatchError } from '../platform/errors.js';
import type { LegalHolds } from './legal-holds.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';

const hold = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    held: { type: 'boolean' },
    reason: { type: 'string' },
    principal: { type: 'string' },
    at: { type: 'string' },
  },
} as const;

const modelParams = {
  type: 'object',
  properties: { model: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH } },
  required: ['model'],
} as const;

/**
 * `isKnown`: whether the model has a version or any record retention would delete. A hold on a
 * misspelt name answered 200 while the model meant stayed unheld and retention went on deleting.
 */
export function legalHoldRoutes(
  holds: LegalHolds,
  isKnown: (model: string) => Promise<boolean>,
): FastifyPluginAsync {
  return (app) => {
    app.put<{ Params: { model: string }; Body: { reason: string } }>(
      '/models/:model/legal-hold',
      {
        config: { role: 'admin' },
        schema: {
          summary:
            'Put a model under legal hold: retention deletes none of its predictions, labels or audit records',
          tags: ['audit'],
          params: modelParams,
          body: {
            type: 'object',
            additionalProperties: false,
            properties: { reason: { type: 'string', minLength: 1, maxLength: 1000 } },
            required: ['reason'],
          },
          response: { 200: hold, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request) => {
        const { model } = request.params;
        if (!(await isKnown(model))) throw new ModelwatchError('NOT_FOUND', `unknown model '${model}'`);
        const written = await holds.write(
          model,
          true,
          request.body.reason,
          request.principal?.name ?? 'unknown',
        );
        await request.auditChange({
          action: 'legal_hold.set',
          resource_type: 'model',
          resource_id: model,
          model_id: model,
          details: { reason: request.body.reason },
        });
        return written;
      },
    );
    app.delete<{ Params: { model: string } }>(
      '/models/:model/legal-hold',
      {
        config: { role: 'admin' },
        schema: {
          summary: 'Release the legal hold of a model; retention applies to it again',
          tags: ['audit'],
          params: modelParams,
          response: { 200: hold, 404: errorSchema },
        },
      },
      async (request) => {
        const { model } = request.params;
        const current = await holds.get(model);
        if (!current?.held)
          throw new ModelwatchError('NOT_FOUND', `params/model: '${model}' is not under legal hold`);
        const written = await holds.write(model, false, current.reason, request.principal?.name ?? 'unknown');
        await request.auditChange({
          action: 'legal_hold.release',
          resource_type: 'model',
          resource_id: model,
          model_id: model,
          details: { reason: current.reason },
        });
        return written;
      },
    );
    app.get(
      '/legal-holds',
      {
        config: { role: 'auditor' },
        schema: {
          summary: 'Every model that has or had a legal hold',
          tags: ['audit'],
          response: {
            200: {
              type: 'object',
              properties: { holds: { type: 'array', items: hold } },
              required: ['holds'],
            },
          },
        },
      },
      async () => ({ holds: await holds.list() }),
    );
    return Promise.resolve();
  };
}
