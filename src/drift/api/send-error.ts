import type { FastifyReply } from 'fastify';
import { errorBody } from '../../api/index.js';
import { DriftError } from '../errors.js';
import { SegmentError } from '../../segments/index.js';

/** A DriftError as its status and `{ statusCode, error, message }`; anything else goes to the app's error handler. */
export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof DriftError) {
    return reply.code(err.status).send(errorBody(err.status, err.message));
  }
  if (err instanceof SegmentError) return reply.code(err.status).send(errorBody(err.status, err.message));
  throw err;
}
