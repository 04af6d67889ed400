/**
 * The service on this machine, for commands that work on the database it holds: while it runs on
 * the embedded engine, another process cannot open the engine's directory (ClickHouse locks it:
 * "Another server instance in same directory is already running"), so such commands go through
 * its API on 127.0.0.1 instead, with the admin key.
 */
import { ModelwatchError } from '../errors.js';

/** The API of a service on this machine's `MODELWATCH_API_PORT`. */
export function localServiceBase(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** Whether a service answers on `base` (its health route, within a second). */
export async function serviceRunning(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * A JSON request to the running service with the admin key. An answer of 400 or above is an error
 * naming the status and the service's message, except the statuses the caller `accept`s.
 */
export async function serviceRequest(
  base: string,
  adminKey: string,
  request: { method: string; path: string; body?: unknown; accept?: readonly number[] },
): Promise<{ status: number; json: unknown }> {
  const { method, path, body, accept = [] } = request;
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(300_000),
  });
  const json: unknown = await response.json();
  if (response.status >= 400 && !accept.includes(response.status)) {
    throw new ModelwatchError(
      'BAD_REQUEST',
      `the service answered ${response.status}: ${(json as { message?: string }).message ?? ''}`,
    );
  }
  return { status: response.status, json };
}
