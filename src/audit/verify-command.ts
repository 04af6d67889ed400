import { readFile } from 'node:fs/promises';
import {
  assertStoredData,
  localServiceBase,
  parseOptions,
  serviceHolding,
  serviceRequest,
  UsageError,
  type Command,
} from '../platform/cli/index.js';
import { migrate, openDatabase, waitForDatabase } from '../platform/clickhouse/index.js';
import { loadConfig } from '../platform/config/index.js';
import { ModelwatchError } from '../platform/errors.js';
import { createKafka } from '../platform/kafka/index.js';
import { createLogger } from '../platform/observability/index.js';
import { readDigestTopic } from './digest-topic.js';
import { parseDigest } from './digest.js';
import { partitionEnds } from './partition-ends.js';
import { verifyStore, type VerifyOptions } from './verify-store.js';

const usage = 'modelwatch audit verify [--digest FILE | --from-topic]';

/**
 * `modelwatch audit verify`: recomputes every chain in `audit_events` (and checks a held digest
 * of chain heads, and each head's source offset against its partition's end when Kafka is
 * configured, as the service's verifications do) and prints `{ ok, checked, chains,
 * first_broken? }`; exit 1 when broken.
 */
export const auditCommand: Command = {
  async run(args, { migrations }) {
    const { values, positionals } = parseOptions(
      args,
      { digest: { type: 'string' }, 'from-topic': { type: 'boolean' } },
      usage,
      { allowPositionals: true },
    );
    if (positionals[0] !== 'verify' || positionals.length !== 1) throw new UsageError(`usage: ${usage}`);
    if (values.digest !== undefined && values['from-topic'] === true)
      throw new UsageError(`--digest and --from-topic exclude each other; usage: ${usage}`);
    const config = loadConfig();
    const base = localServiceBase(config.api.port);
    // A service on the embedded engine holds its directory (its lock names it): verify through its
    // API then. One that holds it and does not answer on the port is named (before the engine opens:
    // it would create an empty store here, reported as verified).
    const holder =
      config.clickhouse.url === undefined ? await serviceHolding(config.clickhouse.dataDir, base) : undefined;
    if (holder !== undefined)
      return verifyThroughService(
        holder,
        config.api.adminKey,
        values.digest !== undefined || values['from-topic'] === true,
      );
    const digest =
      values['from-topic'] === true
        ? await digestFromTopic(config)
        : values.digest === undefined
          ? undefined
          : heldDigest(values.digest, await readDigest(values.digest));
    assertStoredData(config.clickhouse);
    const db = await openDatabase(config.clickhouse);
    try {
      await waitForDatabase(db);
      await migrate(db, migrations);
      const options: VerifyOptions = { sourceEnds: () => sourceEndsOf(config) };
      if (digest) options.digest = digest;
      const report = await verifyStore(db, options);
      const { broken: _all, ...summary } = report;
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return report.ok ? 0 : 1;
    } finally {
      await db.close();
    }
  },
};

/**
 * The running service's `GET /audit/verify`: the same chains and head offsets, and the digests the
 * service itself published. A digest to check against (`--digest`, `--from-topic`) needs this
 * process to read the store, so the service stopped (or a ClickHouse server).
 */
async function verifyThroughService(
  base: string,
  adminKey: string | undefined,
  withDigest: boolean,
): Promise<number> {
  const holds = `the service is running at ${base} and holds the embedded database`;
  if (withDigest)
    throw new UsageError(
      `${holds}: --digest and --from-topic need it stopped (without them, audit verify asks the service)`,
    );
  if (!adminKey)
    throw new ModelwatchError(
      'CONFIG_INVALID',
      `${holds}: set MODELWATCH_ADMIN_KEY to verify through its API`,
    );
  process.stderr.write(`verifying through the service at ${base} (it holds the embedded database)\n`);
  const { json } = await serviceRequest(base, adminKey, {
    method: 'GET',
    path: '/audit/verify',
    valid: (body) => typeof (body as { ok?: unknown } | null)?.ok === 'boolean',
  });
  process.stdout.write(`${JSON.stringify(json)}\n`);
  return (json as { ok?: unknown }).ok === true ? 0 : 1;
}

/**
 * The held digest in `file`: one with no chain heads (an empty file, `[]`) is refused, as a digest
 * that cannot be read is. Checked against nothing, the store verified "ok" as if against heads,
 * so a failed or truncated export went unnoticed.
 */
function heldDigest(file: string, text: string) {
  const digest = parseDigest(text);
  if (digest.length === 0)
    throw new ModelwatchError(
      'BAD_REQUEST',
      `--digest: ${file} holds no chain heads (empty); nothing to check the store against`,
    );
  return digest;
}

async function readDigest(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelwatchError(
      'BAD_REQUEST',
      `--digest: cannot read ${file} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** The digests published to the digests topic (every instance's, up to the topic's end now). */
async function digestFromTopic(config: ReturnType<typeof loadConfig>) {
  const brokers = config.kafka.brokers;
  if (!brokers)
    throw new ModelwatchError(
      'CONFIG_INVALID',
      '--from-topic needs MODELWATCH_KAFKA_BROKERS (the broker the service publishes digests to)',
    );
  const digest = await readDigestTopic(
    createKafka(config.kafka, brokers, createLogger('warn', 'audit-verify')),
    config.topics.auditDigests,
  );
  process.stderr.write(`read ${digest.length} digest entries from ${config.topics.auditDigests}\n`);
  return digest;
}

/** The audited partitions' ends, for the head offset check; none (said on stderr) without a broker. */
async function sourceEndsOf(config: ReturnType<typeof loadConfig>): Promise<ReadonlyMap<string, number>> {
  const brokers = config.kafka.brokers;
  if (!brokers) {
    process.stderr.write('head source offsets not checked: MODELWATCH_KAFKA_BROKERS is not set\n');
    return new Map();
  }
  const logger = createLogger('warn', 'audit-verify');
  // One retry: a broker that is down costs a second or two here, not kafkajs' minute.
  const kafka = createKafka(config.kafka, brokers, logger, 1);
  return partitionEnds(kafka, [config.topics.accessLog, config.audit.topic], logger);
}
