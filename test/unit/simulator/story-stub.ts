/** An in-process stand-in for the service's API and the broker, for the simulator's unit tests. */
import { ApiClient, type ApiAnswer } from '../../../src/simulator/api-client.js';
import type { EventSink, Topics } from '../../../src/simulator/publish.js';

export const topics: Topics = { predictions: 'p', labels: 'l', accessLog: 'a', retrain: 'team.retrain' };

export type Route = (method: string, path: string) => ApiAnswer<unknown> | undefined;

/**
 * Answers like a healthy service that stores what the sink received (`stored` can hold it back);
 * `override` answers first, e.g. a 503 for one route.
 */
export class StubApi extends ApiClient {
  readonly calls: string[] = [];
  /** Predictions the collectors have stored; by default what the sink received. */
  stored: (published: number) => number = (published) => published;

  constructor(
    private readonly sink: RecordingSink,
    private readonly override: Route = () => undefined,
  ) {
    super('http://stub', 'key');
  }

  override request<T>(method: string, path: string): Promise<ApiAnswer<T>> {
    this.calls.push(`${method} ${path}`);
    const answer = this.override(method, path) ?? this.answer(method, path);
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
      return { status: 200, body };
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
