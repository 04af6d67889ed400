/**
 * The service on this machine, for commands that work on the database it holds: while it runs on
 * the embedded engine, another process cannot open the engine's directory (ClickHouse locks it:
 * "Another server instance in same directory is already running"), so such commands go through
 * its API on 127.0.0.1 instead, with the admin key.
 *
 * Whether it holds the directory is read from the directory's lock (`modelwatch.pid`, taken by
 * `up` and `serve`), not from whatever answers on the port: 8080 is a common port, and another
 * program's `/healthz` there made `keys` and `audit verify` refuse a directory nobody held, or
 * send their calls to that program.
 */
import { ModelwatchError } from '../errors.js';
import { engineHolder, refuseIfHeld } from './data-dir-lock.js';

/** The API of a service on this machine's `MODELWATCH_API_PORT`. */
export function localServiceBase(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** Whether something answers 2xx on `base`'s health route, within a second. */
async function answersHealth(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * `base`, when a running modelwatch holds the embedded engine in `dataDir` (its lock names a live
 * process) and answers there; undefined when no running modelwatch holds the directory, so the
 * command may open the engine itself. A holder that does not answer on `base` is an error naming
 * its pid and `base` (CONFLICT, exit 1).
 */
export async function serviceHolding(dataDir: string, base: string): Promise<string | undefined> {
  if (engineHolder(dataDir) === undefined) return undefined;
  if (await answersHealth(base)) return base;
  // Still held (not stopped in the meantime): say by whom.
  refuseIfHeld(dataDir, base);
  return undefined;
}

/** The first line of `text`, shortened, for an error message. */
function excerpt(text: string): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}

/**
 * A JSON request to the running service with the admin key. An answer of 400 or above is an error
 * naming the URL, the status and the service's message, except the statuses the caller `accept`s;
 * an answer that is not JSON, or that `valid` refuses, is one line naming the URL and the status.
 */
export async function serviceRequest(
  base: string,
  adminKey: string,
  request: {
    method: string;
    path: string;
    body?: unknown;
    accept?: readonly number[];
    /** Whether an accepted answer's body has the shape the caller reads. @default any JSON */
    valid?: (json: unknown, status: number) => boolean;
  },
): Promise<{ status: number; json: unknown }> {
  const { method, path, body, accept = [], valid = () => true } = request;
  const url = `${base}/api/v1${path}`;
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await response.text();
  const where = `the service at ${url} answered ${response.status}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${where}, not JSON (${excerpt(text) || 'an empty body'}): is modelwatch listening on ${base}?`,
    );
  }
  if (response.status >= 400 && !accept.includes(response.status)) {
    const message = (json as { message?: unknown } | null)?.message;
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${where}: ${typeof message === 'string' ? excerpt(message) : excerpt(text)}`,
    );
  }
  if (!valid(json, response.status))
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${where} with an unexpected body (${excerpt(text)}): is modelwatch listening on ${base}?`,
    );
  return { status: response.status, json };
}
