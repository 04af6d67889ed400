import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { ModelwatchError, errorMessage } from '../errors.js';

// Not a named import: Node's ESM loader does not see it among kafkajs' CommonJS exports.
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /**
   * Records are never deleted by age or size (`retention.ms` and `retention.bytes` -1): an audit
   * topic, whose records wait in Kafka while their chain is held, for as long as it takes. Set
   * only on a topic this call creates; an existing one is left as it is and only checked.
   */
  keepForever?: boolean;
}

export interface EnsureTopicsOptions {
  /** Told about each existing `keepForever` topic that deletes records, or whose settings could not be read. */
  logger?: { warn(details: object, message: string): void };
}

const RETENTION_SETTINGS = ['retention.ms', 'retention.bytes'];
const KEEP_FOREVER = RETENTION_SETTINGS.map((name) => ({ name, value: '-1' }));

/**
 * SPEC 3: three or more brokers get replication factor 3 and min.insync.replicas=2 (with
 * acks=all a write survives one broker lost); a smaller cluster keeps the broker's defaults.
 */
export function replicationFor(brokerCount: number): {
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
} {
  if (brokerCount >= 3)
    return { replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] };
  return { replicationFactor: -1, configEntries: [] };
}

/**
 * Creates the topics that do not exist yet; existing topics are left as they are (an existing
 * `keepForever` topic that deletes records is logged as a warning). Returns the created topics.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: TopicSpec[],
  options: EnsureTopicsOptions = {},
): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      const { brokers } = await admin.describeCluster();
      const { replicationFactor, configEntries } = replicationFor(brokers.length);
      await admin.createTopics({
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor,
          configEntries: [...configEntries, ...(t.keepForever ? KEEP_FOREVER : [])],
        })),
        waitForLeaders: true,
      });
    }
    const kept = topics.filter((t) => t.keepForever && existing.has(t.topic)).map((t) => t.topic);
    if (options.logger && kept.length > 0) await warnOfFiniteRetention(admin, kept, options.logger);
    return missing.map((t) => t.topic);
  } catch (err) {
    throw new ModelwatchError(
      'KAFKA_UNAVAILABLE',
      `could not create Kafka topics: ${creationErrors(err)}`,
      true,
      { cause: err },
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * kafkajs' message with each refused topic and Kafka's reason, which it keeps apart in `errors`
 * (alone, "Topic creation errors" named neither).
 */
function creationErrors(err: unknown): string {
  const refused = (err as { errors?: unknown }).errors;
  if (!Array.isArray(refused)) return errorMessage(err);
  const each = refused.map((e: { topic?: unknown }) => `'${String(e.topic)}': ${errorMessage(e)}`);
  return `${errorMessage(err)}: ${each.join('; ')}`;
}

/** Warns of each topic that deletes records by age or size; a failed check only warns too (start goes on). */
async function warnOfFiniteRetention(
  admin: Admin,
  topics: string[],
  logger: NonNullable<EnsureTopicsOptions['logger']>,
): Promise<void> {
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: RETENTION_SETTINGS,
      })),
    });
    for (const { resourceName, configEntries } of resources) {
      const finite = configEntries.filter((e) => e.configValue !== '-1');
      if (finite.length === 0) continue;
      const retention = Object.fromEntries(finite.map((e) => [e.configName, e.configValue]));
      logger.warn(
        { topic: resourceName, retention },
        `topic ${resourceName} deletes records by age or size: one waiting in it longer (an audit chain held) is lost; set retention.ms=-1 and retention.bytes=-1 on it`,
      );
    }
  } catch (err) {
    logger.warn({ topics, err: errorMessage(err) }, `could not read the retention of ${topics.join(', ')}`);
  }
}
