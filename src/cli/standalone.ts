import type { Command } from '../platform/cli/index.js';

/**
 * Commands that use no migrations and no other capability, started after loading only their own
 * capability: loading them all costs ~0.8 CPU s (measured), more than `modelwatch drift` itself
 * needs on 20 columns × 100k rows. The command is the capability's own entry (tested).
 */
export const standalone: ReadonlyMap<string, () => Promise<Command>> = new Map([
  [
    'drift',
    async () => {
      const entry = (await import('../drift/index.js')).drift.commands?.['drift'];
      if (!entry) throw new Error('the drift capability no longer lists its drift command');
      return entry.load();
    },
  ],
]);
