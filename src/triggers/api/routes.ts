/** GET /retrain-triggers: stored triggers, with whether (and where) each was published. */
import type { FastifyPluginAsync } from 'fastify';
import { errorBody, errorSchema } from '../../api/index.js';
import type { ModelRegistry } from '../../models/index.js';
import { parseTime } from '../../platform/time/index.js';
import { REASONS } from '../engine/trigger.js';
import { positionOf, type TriggerPosition, type TriggerStore } from '../store/triggers.js';
import { MAX_EVENT_ID_LENGTH } from '../../platform/limits.js';

/** Most triggers one request returns. @default 1000 */
export const MAX_TRIGGERS = 1000;

interface ListRequest {
  Querystring: { model?: string; from?: string; to?: string; limit?: number; cursor?: string };
}

const querystring = {
  type: 'object',
  properties: {
    model: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      description: 'Only this model. Default: every model.',
    },
    from: {
      type: 'string',
      maxLength: 64,
      description: 'Windows starting at or after this: ISO-8601 (UTC when no offset) or epoch ms.',
    },
    to: {
      type: 'string',
      maxLength: 64,
      description: 'Windows starting before this: ISO-8601 (UTC when no offset) or epoch ms.',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_TRIGGERS,
      description: `At most this many, oldest window first. Default ${MAX_TRIGGERS}.`,
    },
    cursor: {
      type: 'string',
      maxLength: 2048,
      description: 'The `next` of the previous page: the triggers after its last one.',
    },
  },
  additionalProperties: false,
} as const;

const triggerSchema = {
  type: 'object',
  properties: {
    trigger_id: { type: 'string' },
    model_id: { type: 'string' },
    model_version: { type: 'string' },
    reason: { type: 'string', enum: [...REASONS] },
    window: {
      type: 'object',
      properties: { start: { type: 'string' }, end: { type: 'string' } },
      required: ['start', 'end'],
    },
    evidence: { type: 'object', additionalProperties: true },
    policy: { type: 'object', additionalProperties: true },
    created_at: { type: 'string' },
    published: { type: 'boolean', description: 'on the retrain topic (acknowledged by the broker)' },
    published_at: { type: ['string', 'null'] },
    partition: { type: ['integer', 'null'] },
    offset: { type: ['string', 'null'] },
    refused: {
      type: 'object',
      description:
        'Present when the broker refused the message as larger than the retrain topic takes: it is not sent again (see src/triggers/README.md).',
      properties: { at: { type: 'string' }, bytes: { type: 'integer' }, error: { type: 'string' } },
      required: ['at', 'bytes', 'error'],
    },
  },
  required: [
    'trigger_id',
    'model_id',
    'model_version',
    'reason',
    'window',
    'evidence',
    'policy',
    'created_at',
    'published',
    'published_at',
    'partition',
    'offset',
  ],
} as const;

/** A page's end as an opaque token: its list position, base64url JSON. */
function cursorOf(position: TriggerPosition): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function parseCursor(text: string): TriggerPosition | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    // The window start as any time the route takes: an integer within what ClickHouse stores.
    if (!Array.isArray(value) || value.length !== 5 || typeof value[0] !== 'number') return undefined;
    if (parseTime(value[0]) === undefined) return undefined;
    return value.slice(1).every((v) => typeof v === 'string') ? (value as TriggerPosition) : undefined;
  } catch {
    return undefined;
  }
}

function badRequest(message: string) {
  return { statusCode: 400, error: 'Bad Request', message };
}

export function triggerRoutes(store: TriggerStore, models: ModelRegistry): FastifyPluginAsync {
  return (app) => {
    app.get<ListRequest>(
      '/retrain-triggers',
      {
        config: { role: 'viewer' },
        schema: {
          summary:
            'Retrain triggers (SPEC 6): the messages published to the retrain topic, oldest window first',
          tags: ['triggers'],
          querystring,
          response: {
            200: {
              type: 'object',
              properties: {
                triggers: { type: 'array', items: triggerSchema },
                next: {
                  type: 'string',
                  description: 'Present when more triggers match: pass it as `cursor` for the next page.',
                },
              },
              required: ['triggers'],
            },
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const { model, limit = MAX_TRIGGERS, cursor } = request.query;
        const after = cursor === undefined ? undefined : parseCursor(cursor);
        if (cursor !== undefined && after === undefined)
          return reply.code(400).send(badRequest('querystring/cursor: not a cursor this route returned'));
        const times: Record<'from' | 'to', number | undefined> = { from: undefined, to: undefined };
        for (const field of ['from', 'to'] as const) {
          const text = request.query[field];
          if (text === undefined) continue;
          times[field] = parseTime(text);
          if (times[field] === undefined)
            return reply
              .code(400)
              .send(
                badRequest(
                  `querystring/${field}: '${text}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
                ),
              );
        }
        if (times.from !== undefined && times.to !== undefined && times.from >= times.to)
          return reply.code(400).send(badRequest('querystring/from: must be before to'));
        // A misspelt model would otherwise look the same as one that never needed retraining.
        if (model !== undefined && (await models.list(model)).length === 0)
          return reply.code(404).send(errorBody(404, `unknown model '${model}'`));
        // One more than asked: whether a next page exists, without an empty last page.
        const triggers = await store.list({ modelId: model, ...times, limit: limit + 1, after });
        if (triggers.length <= limit) return { triggers };
        const page = triggers.slice(0, limit);
        return { triggers: page, next: cursorOf(positionOf(page[page.length - 1]!)) };
      },
    );
    return Promise.resolve();
  };
}
