/** `up`'s simulator, started once the service is up, on the service's own inference core. */
import type { Config } from '../../platform/config/index.js';
import type { Logger, StatusLine } from '../../platform/observability/index.js';
import { inference } from '../../inference/index.js';
import { shadow } from '../../shadow/index.js';
import type { RunningService } from '../../service/index.js';
import {
  parseStoryOptions,
  startStory,
  type RunningStory,
  type StoryOptions,
} from '../../simulator/index.js';

export const storyOptions = parseStoryOptions;

export async function startStoryFor(
  service: RunningService,
  options: { config: Config; brokers: string[]; logger: Logger; status: StatusLine; story: StoryOptions },
): Promise<RunningStory> {
  const { config, story } = options;
  await service.ready;
  return startStory({
    config,
    brokers: options.brokers,
    apiUrl: service.url.replace('0.0.0.0', '127.0.0.1'),
    adminKey: config.api.adminKey ?? '',
    core: service.use(inference).core,
    logger: options.logger,
    status: options.status,
    speed: story.speed,
    seed: story.seed,
    registered: () => service.use(shadow).refresh(),
  });
}
