import type { Command } from '../platform/cli/index.js';

/**
 * Commands that use no migrations and no other capability, started by loading only the command's
 * own module: loading every capability costs ~0.8 CPU s (measured), and even the drift capability
 * alone pulls in the service's modules (Kafka client, HTTP server, metrics: ~585 CommonJS modules,
 * ~0.3 CPU s to compile), more than `modelwatch drift` itself needs on 20 columns × 100k rows.
 * The command is the very object its capability lists (tested).
 */
export const standalone: ReadonlyMap<string, () => Promise<Command>> = new Map([
  ['drift', async () => (await import('../drift/offline/command.js')).driftCommand],
]);
