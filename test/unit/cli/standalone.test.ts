import { describe, expect, it } from 'vitest';
import { standalone } from '../../../src/cli/standalone.js';
import { commands } from '../../../src/cli/commands/index.js';

describe('commands started without loading the capabilities', () => {
  it('are the very commands their capability lists', async () => {
    expect(standalone.size).toBeGreaterThan(0);
    for (const [name, load] of standalone) {
      const listed = commands.get(name);
      expect(listed, `${name} is listed by a capability`).toBeDefined();
      expect(await load()).toBe(await listed!.load());
    }
  });
});
