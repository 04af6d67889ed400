/** An in-process stand-in for the service's API and the broker, for the simulator's unit tests. */
import { createHash } from 'node:crypto';
import { ApiClient, type ApiAnswer } from '../../../src/simulator/api-client.js';
import type { EventSink, Topics } from '../../../src/simulator/publish.js';

export const topics: Topics = { predictions: 'p', labels: 'l', accessLog: 'a', retrain: 'team.retrain' };

export type Route = (method: string, path: string, body?: unknown) => ApiAnswer<unknown> | undefined;

/**
 * Answers like a healthy service that stores what the sink received (`stored` can hold it back);
 * `override` answers first, e.g. a 503 for one route.
 */
export class StubApi extends ApiClient {
  readonly calls: string[] = [];
  /** Predictions the collectors have stored; by default what the sink received. */
  stored: (published: number) => number = (published) => published;
  /** More lines of /metrics (e.g. the drift window gauge). */
  metrics = '';

  constructor(
    private readonly sink: RecordingSink,
    private readonly override: Route = () => undefined,
  ) {
    super('http://stub', 'key');
  }

  override request<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    this.calls.push(`${method} ${path}`);
    const answer = this.override(method, path, body) ?? this.answer(method, path);
    return Promise.resolve(answer as ApiAnswer<T>);
  }

  private answer(method: string, path: string): ApiAnswer<unknown> {
    const route = path.split('?')[0]!;
    if (route === '/metrics') {
      const count = (topic: string) =>
        topic === topics.predictions ? this.stored(this.sink.count(topic)) : this.sink.count(topic);
      const body = [topics.predictions, topics.labels, topics.accessLog]
        .map((t) => `modelwatch_messages_total{topic="${t}",outcome="stored"} ${count(t)}`)
        .join('\n');
      return { status: 200, body: `${body}\n${this.metrics}` };
    }
    if (route.endsWith('/drift')) return { status: 200, body: { buckets: [] } };
    if (route.endsWith('/shadow')) return { status: 200, body: { challengers: [] } };
    if (route === '/api/v1/retrain-triggers') return { status: 200, body: { triggers: [] } };
    if (route === '/api/v1/audit/verify') return { status: 200, body: { ok: true, checked: 3, chains: 1 } };
    return { status: method === 'GET' ? 200 : 201, body: {} };
  }
}

export class RecordingSink implements EventSink {
  private readonly sent = new Map<string, number>();

  count(topic: string): number {
    return this.sent.get(topic) ?? 0;
  }

  send(topic: string, messages: readonly unknown[]): Promise<void> {
    this.sent.set(topic, this.count(topic) + messages.length);
    return Promise.resolve();
  }
}

interface Registration {
  version: string;
  stage: string;
  artifact: { base64: string };
}

/**
 * The registry's rules as the simulator meets them (src/models/register.ts): a version is
 * registered once, a repeat is accepted only when exact (201 with the artifact's SHA-256), anything
 * else is a 409; PATCH changes a version's stage; GET /models lists the versions and stages.
 */
export class StubRegistry {
  readonly versions = new Map<string, Registration>();

  readonly route: Route = (method, path, body) => {
    if (method === 'GET' && path === '/api/v1/models') return this.list();
    if (method === 'POST' && path === '/api/v1/models/california/versions')
      return this.register(body as Registration);
    const restage = /^\/api\/v1\/models\/california\/versions\/([^/]+)$/.exec(path);
    if (method === 'PATCH' && restage) return this.restage(restage[1]!, (body as { stage: string }).stage);
    return undefined;
  };

  private register(body: Registration): ApiAnswer<unknown> {
    const stored = this.versions.get(body.version);
    if (stored === undefined) this.versions.set(body.version, body);
    else if (stored.artifact.base64 !== body.artifact.base64)
      return conflict(`version '${body.version}' is registered with another artifact`);
    else if (JSON.stringify(stored) !== JSON.stringify(body))
      return conflict(`version '${body.version}' is registered with this artifact and other fields`);
    const sha = createHash('sha256').update(Buffer.from(body.artifact.base64, 'base64')).digest('hex');
    return { status: 201, body: { version: body.version, stage: body.stage, artifact_sha256: sha } };
  }

  private restage(version: string, stage: string): ApiAnswer<unknown> {
    const stored = this.versions.get(version);
    if (stored === undefined) return { status: 404, body: { message: `unknown version '${version}'` } };
    stored.stage = stage;
    return { status: 200, body: { version, stage } };
  }

  private list(): ApiAnswer<unknown> {
    const versions = [...this.versions.values()].map(({ version, stage }) => ({ version, stage }));
    return { status: 200, body: { models: [{ model_id: 'california', versions }] } };
  }
}

const conflict = (message: string): ApiAnswer<unknown> => ({ status: 409, body: { message } });
