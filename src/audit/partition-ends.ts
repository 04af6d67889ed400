import { errorMessage } from '../platform/errors.js';
import { fetchTopicEnds, type Kafka } from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';
import { chainName } from './consumer.js';

/**
 * Each chain's partition end, for the head offset check (`VerifyOptions.sourceEnds`). Kafka
 * unreachable: the check is left out (logged) rather than failing the verification of the chains.
 */
export async function partitionEnds(
  kafka: Kafka,
  topics: readonly string[],
  logger: Logger,
): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  try {
    for (const topic of topics)
      for (const p of await fetchTopicEnds(kafka, topic, { attempts: 1 }))
        ends.set(chainName(topic, p.partition), Number(p.high));
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'partition ends not read; head source offsets not checked');
    return new Map();
  }
  return ends;
}
