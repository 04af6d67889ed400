import type { FastifyReply } from 'fastify';
import { DriftError } from '../errors.js';

/** A DriftError as its status and `{ statusCode, error, message }`; anything else is a 500 for Fastify. */
export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof DriftError) {
    const error = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict' }[err.status];
    return reply.code(err.status).send({ statusCode: err.status, error, message: err.message });
  }
  throw err;
}

