/** The service's REST API as any client calls it: HTTP with the admin key. */
import { SimulatorError } from './errors.js';

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export class ApiClient {
  /**
   * @param base e.g. `http://127.0.0.1:8080`
   * @param key the admin key (Bearer)
   * @param timeoutMs per request. @default 30000
   */
  constructor(
    readonly base: string,
    private readonly key: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (the Prometheus text format): kept as text.
    }
    return { status: response.status, body: parsed as T };
  }

  /** The body of a 2xx answer; anything else is an error naming the call and the answer's message. */
  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.request<T>(method, path, body);
    if (succeeded(answer)) return answer.body;
    throw refusal(method, path, answer);
  }

  /** Prometheus text of /metrics; an error when it is not answered (never an empty text read as zeros). */
  async metricsText(): Promise<string> {
    const body = await this.ok<unknown>('GET', '/metrics');
    return typeof body === 'string' ? body : '';
  }
}

export function succeeded(answer: ApiAnswer<unknown>): boolean {
  return answer.status >= 200 && answer.status < 300;
}

/** The error for an answer that is not a 2xx: the call, the status and the answer's message. */
export function refusal(method: string, path: string, answer: ApiAnswer<unknown>): SimulatorError {
  const message = (answer.body as { message?: string } | undefined)?.message ?? String(answer.body);
  return new SimulatorError(
    answer.status >= 500 ? 'API_FAILED' : 'API_REFUSED',
    `${method} ${path}: ${answer.status} ${message}`,
  );
}

/** Sums the samples of a Prometheus counter or gauge whose labels include every given pair. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
