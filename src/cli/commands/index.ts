import { entriesByName, type Entry } from '../../platform/capability/index.js';
import type { Command } from '../../platform/cli/index.js';
import { capabilities } from '../../service/index.js';
import { benchCommand } from './bench.js';
import { kafkaCommand } from './kafka.js';
import { migrateCommand } from './migrate.js';
import { serveCommand, upCommand } from './serve.js';

const now =
  <T>(value: T) =>
  () =>
    Promise.resolve(value);
const benches = entriesByName(capabilities, (c) => c.benches);

/** The service's own commands, then every capability's (each loaded only when it runs). */
export const commands: ReadonlyMap<string, Entry<Command>> = new Map([
  [
    'up',
    {
      summary: 'run everything locally on embedded defaults (a local broker if none is set)',
      load: now(upCommand),
    },
  ],
  [
    'serve',
    {
      summary: 'run the service against MODELWATCH_KAFKA_BROKERS and ClickHouse (production)',
      load: now(serveCommand),
    },
  ],
  [
    'migrate',
    { summary: 'apply pending ClickHouse migrations (also run at start)', load: now(migrateCommand) },
  ],
  [
    'kafka',
    { summary: 'run a local Apache Kafka broker and print its bootstrap address', load: now(kafkaCommand) },
  ],
  [
    'bench',
    {
      summary: `run a benchmark: bench <${[...benches.keys()].join('|')}> [options]; without a name: all of them at modest sizes, one report and table, each figure beside its same-run baseline`,
      load: now(benchCommand(benches)),
    },
  ],
  ...entriesByName(capabilities, (c) => c.commands),
]);
