/** API keys over REST (admin, SPEC 9): create (shown once), list (ids, never keys), revoke. */
import type { FastifyPluginAsync } from 'fastify';
import { MAX_KEY_NAME, ROLES, keyNameProblem, type KeyStore, type Role } from '../auth/index.js';
import { errorBody } from './errors.js';
import { errorSchema } from './schemas.js';

const keyInfo = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'first 16 hex characters of the key SHA-256' },
    name: { type: 'string' },
    role: { type: 'string', enum: [...ROLES] },
    created_at: { type: 'string' },
    revoked: { type: 'boolean' },
    revoked_at: { type: ['string', 'null'], description: 'when it was revoked; null while active' },
  },
  required: ['id', 'name', 'role', 'created_at', 'revoked', 'revoked_at'],
} as const;

export function keyRoutes(keys: KeyStore): FastifyPluginAsync {
  return (app) => {
    app.post<{ Body: { role: Role; name?: string } }>(
      '/keys',
      {
        config: { role: 'admin' },
        schema: {
          summary: 'Create an API key (the key is in this answer only; it is stored as a SHA-256 hash)',
          tags: ['keys'],
          body: {
            type: 'object',
            properties: {
              role: { type: 'string', enum: [...ROLES] },
              // Checked by keyNameProblem, as `modelwatch keys create` on a stopped service is.
              name: {
                type: 'string',
                description: `the audit trail's principal for the key: 1 to ${MAX_KEY_NAME} UTF-16 units (spaces and Unicode allowed), unique among active keys, not a name the service writes itself`,
              },
            },
            required: ['role'],
            additionalProperties: false,
          },
          response: {
            201: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                role: { type: 'string' },
                key: { type: 'string' },
              },
              required: ['id', 'name', 'role', 'key'],
            },
            400: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const { role } = request.body;
        const name = request.body.name ?? `${role}-${new Date().toISOString()}`;
        const problem = keyNameProblem(name);
        if (problem) return reply.code(400).send(errorBody(400, `body/name ${problem}`));
        const { key, id } = await keys.createWithId(role, name);
        await request.auditChange({
          action: 'key.create',
          resource_type: 'api_key',
          resource_id: id,
          details: { role, name },
        });
        reply.header('cache-control', 'no-store');
        return reply.code(201).send({ id, name, role, key });
      },
    );
    app.get(
      '/keys',
      {
        config: { role: 'admin' },
        schema: {
          summary: 'API keys: ids, names, roles, whether revoked (never the keys)',
          tags: ['keys'],
          response: { 200: { type: 'array', items: keyInfo } },
        },
      },
      () => keys.list(),
    );
    app.delete<{ Params: { id: string } }>(
      '/keys/:id',
      {
        config: { role: 'admin' },
        schema: {
          summary: `Revoke a key; it stops working at once on this instance and within 10 s on others`,
          tags: ['keys'],
          params: {
            type: 'object',
            properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } },
            required: ['id'],
          },
          response: { 200: keyInfo, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        const revoked = await keys.revoke(request.params.id);
        if (!revoked)
          return reply.code(404).send(errorBody(404, `no active key with id '${request.params.id}'`));
        await request.auditChange({
          action: 'key.revoke',
          resource_type: 'api_key',
          resource_id: revoked.id,
          details: { role: revoked.role, name: revoked.name },
        });
        return revoked;
      },
    );
    return Promise.resolve();
  };
}
