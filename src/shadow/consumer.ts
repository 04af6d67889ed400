import type { ModelRegistry, ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { createBatchConsumer, type BatchConsumer, type Kafka } from '../platform/kafka/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import { decodeShadowInput, type ShadowInput, type ShadowInputLimits } from './decode.js';
import { SHADOW_SCORES_STRUCTURE } from './schema.js';
import type { ShadowScorer } from './scorer.js';

export interface ShadowConsumerDeps {
  kafka: Kafka;
  db: Database;
  registry: ModelRegistry;
  scorer: ShadowScorer;
  logger: Logger;
  /** Its own consumer group: the collectors' offsets and commits never wait for it. */
  groupId: string;
  topic: string;
  /** The collectors' limits: an event they dead-letter is not scored. */
  limits: ShadowInputLimits;
  /** How often the list of challengers is read again. @default 5000 */
  refreshMs?: number | undefined;
  /** Flush at this many buffered predictions. @default 20000 */
  maxRows?: number | undefined;
  /** Flush when the oldest buffered prediction is this old. @default 1000 */
  maxMs?: number | undefined;
  sessionTimeoutMs?: number | undefined;
}

export interface ShadowConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reads the challengers again now (a registration is picked up within `refreshMs` otherwise). */
  refresh(): Promise<void>;
  readonly degraded: boolean;
}

/**
 * The predictions topic in a consumer group of its own, scored by every `shadow` version of each
 * model and stored in `shadow_scores`; offsets are committed once the scores are stored, so a
 * crash rescores (and the table collapses the repeats).
 */
export function createShadowConsumer(deps: ShadowConsumerDeps): ShadowConsumer {
  let challengers: ModelVersionRecord[] = [];
  let models = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let joined = false;

  async function refresh(): Promise<void> {
    challengers = await deps.registry.challengers();
    models = new Set(challengers.map((c) => c.model_id));
    // A version moved out of `shadow` (or replaced) gives its session back.
    await deps.scorer.retain(challengers);
  }

  const consumer: BatchConsumer = createBatchConsumer<ShadowInput | null>({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topics: [deps.topic],
    logger: deps.logger,
    maxRows: deps.maxRows,
    maxMs: deps.maxMs,
    sessionTimeoutMs: deps.sessionTimeoutMs,
    sink: {
      decode: (source) =>
        decodeShadowInput(source.message.value, deps.limits, (m) => models.has(m), models.size > 0) ?? null,
      async write(items) {
        const inputs = items.filter((i): i is ShadowInput => i !== null);
        if (inputs.length === 0) return;
        const rows = await deps.scorer.score(challengers, inputs);
        if (rows.length === 0) return;
        // Serialized here; with a structure the embedded engine parses the batch from a file on
        // all cores (the client's object insert took 1-2.5 s per 20,000 rows on the loaded machine).
        const scoredAt = Date.now();
        const body = Buffer.from(
          rows.map((r) => JSON.stringify({ ...r, scored_at: scoredAt })).join('\n'),
          'utf8',
        );
        await deps.db.insertJsonEachRow('shadow_scores', body, { structure: SHADOW_SCORES_STRUCTURE });
      },
      // A batch ClickHouse refuses is halved down to the refused prediction, which is dropped.
      reject: () => null,
    },
  });

  return {
    get degraded() {
      return consumer.degraded;
    },
    refresh,
    async start() {
      await refresh();
      // start is retried with backoff while Kafka is unreachable: one timer, whatever the attempts.
      timer ??= setInterval(() => {
        refresh().catch((err: unknown) =>
          deps.logger.warn(
            { err: errorMessage(err) },
            'reading the challengers failed; keeping the last list',
          ),
        );
      }, deps.refreshMs ?? 5_000);
      await consumer.start();
      joined = true;
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (joined) await consumer.stop();
    },
  };
}
