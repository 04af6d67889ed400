/**
 * The traffic simulator `modelwatch up` runs (SPEC 2): not a capability of the service but a
 * client of it, publishing through the broker and calling the REST API like any producer.
 */
import { Partitioners } from 'kafkajs';
import type { InferenceCore } from '../inference/index.js';
import type { Config } from '../platform/config/index.js';
import { createKafka } from '../platform/kafka/index.js';
import type { Logger, StatusLine } from '../platform/observability/index.js';
import { ApiClient } from './api-client.js';
import { loadStoryData } from './data.js';
import { planStory } from './plan.js';
import { Simulator } from './simulator.js';

export {
  planStory,
  MODEL_ID,
  type StoryPlan,
  type PlannedPrediction,
  type PlannedLabel,
  type AccessEvent,
} from './plan.js';
export { loadStoryData, FEATURES, type StoryData, type StoryRow } from './data.js';
export { Random } from './random.js';
export { progressText } from './progress.js';
export { formatSummary, type StorySummary } from './summary.js';
export { SimulatorError, type SimulatorErrorCode } from './errors.js';
export { POLICY, PRODUCTION, CHALLENGER } from './setup.js';
export { parseStoryOptions, DEFAULT_SPEED, DEFAULT_SEED, type StoryOptions } from './options.js';

export interface StartStory {
  config: Config;
  brokers: string[];
  /** The service's own address (loopback). */
  apiUrl: string;
  adminKey: string;
  core: InferenceCore;
  logger: Logger;
  status: StatusLine;
  speed: number;
  seed: number;
  /** See SimulatorDeps.registered. */
  registered?: () => Promise<void>;
}

export interface RunningStory {
  /** Resolves when the story is told (or failed: logged). */
  done: Promise<void>;
  /** Stops publishing, prints the summary so far, disconnects. */
  stop(): Promise<void>;
}

export async function startStory(options: StartStory): Promise<RunningStory> {
  const { config, logger } = options;
  const plan = planStory(loadStoryData(), options.seed);
  const kafka = createKafka(config.kafka, options.brokers, logger.child({ component: 'simulator' }));
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const simulator = new Simulator(
    {
      api: new ApiClient(options.apiUrl, options.adminKey),
      sink: {
        async send(topic, messages) {
          await producer.send({ topic, messages });
        },
      },
      core: options.core,
      topics: config.topics,
      logger,
      status: options.status,
      ...(options.registered ? { registered: options.registered } : {}),
    },
    {
      plan,
      speed: options.speed,
      adminKey: options.adminKey,
      publicUrl: `http://localhost:${config.api.port}`,
    },
  );
  const done = simulator.run().catch((err: unknown) => {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'simulator stopped');
  });
  let stopped: Promise<void> | undefined;
  return {
    done,
    stop() {
      stopped ??= (async () => {
        await simulator.stop().catch(() => undefined);
        await done;
        await producer.disconnect();
      })();
      return stopped;
    },
  };
}
