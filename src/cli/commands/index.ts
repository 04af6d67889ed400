import { benchCommand } from './bench.js';
import type { Command } from './command.js';
import { dashboardsCommand } from './dashboards.js';
import { driftCommand } from './drift.js';
import { kafkaCommand } from './kafka.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { serveCommand, upCommand } from './serve.js';

export const commands: Record<string, Command> = {
  up: upCommand,
  serve: serveCommand,
  migrate: migrateCommand,
  kafka: kafkaCommand,
  keys: keysCommand,
  bench: benchCommand,
  dashboards: dashboardsCommand,
  drift: driftCommand,
};
