import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { KeyStore, MAX_KEY_NAME, keyNameProblem } from '../../../src/auth/index.js';
import { keysCommand } from '../../../src/auth/keys-command.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';

describe('key names (the principal of every audit record of the key)', () => {
  it('are refused empty, overlong, with a control character or a lone surrogate, before anything is stored', async () => {
    const insert = vi.fn(() => Promise.resolve());
    const query = () => Promise.resolve({ json: () => Promise.resolve([{ n: 0 }]) });
    const store = new KeyStore({ client: { insert, query } } as unknown as Database, undefined);
    await expect(store.createWithId('viewer', '')).rejects.toThrow('key name must not be empty');
    await expect(store.createWithId('viewer', 'x'.repeat(MAX_KEY_NAME + 1))).rejects.toThrow(
      `key name must be at most ${MAX_KEY_NAME} characters (got ${MAX_KEY_NAME + 1})`,
    );
    await expect(store.createWithId('viewer', 'bad\ud800')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'key name holds a lone surrogate',
    });
    for (const name of ['ops\nadmin', 'tab\there', 'esc\u001b[31m', 'del\u007f', 'c1\u0085'])
      await expect(store.createWithId('viewer', name), JSON.stringify(name)).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: 'key name holds a control character',
      });
    expect(insert).not.toHaveBeenCalled();
    await store.createWithId('viewer', `${'x'.repeat(MAX_KEY_NAME - 2)}\u{1F600}`);
    expect(insert).toHaveBeenCalledTimes(1);
    expect(keyNameProblem('ci reader')).toBeUndefined();
  });

  it('are refused when the service writes them as principals, or an active key has them', async () => {
    const insert = vi.fn(() => Promise.resolve());
    const active = new Set(['dash']);
    const query = ({ query_params }: { query_params: { name: string } }) =>
      Promise.resolve({ json: () => Promise.resolve([{ n: active.has(query_params.name) ? 1 : 0 }]) });
    const store = new KeyStore({ client: { insert, query } } as unknown as Database, undefined);
    for (const name of ['bootstrap-admin', 'anonymous', 'retention', 'modelwatch'])
      await expect(store.createWithId('admin', name), name).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining(`key name '${name}' is reserved`) as string,
      });
    await expect(store.createWithId('viewer', 'dash')).rejects.toMatchObject({
      code: 'CONFLICT',
      message: "key name 'dash' belongs to an active key: revoke it or pick another",
    });
    expect(insert).not.toHaveBeenCalled();
    await store.createWithId('viewer', 'dash-2');
    expect(insert).toHaveBeenCalledTimes(1);
  });

  it('keys create --name refuses a bad name, naming the option, before opening anything', async () => {
    // Were the name let through, the command would open a database: never the working directory's.
    const dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-key-names-'));
    vi.stubEnv('MODELWATCH_DATA_DIR', dataDir);
    try {
      await expect(
        keysCommand.run(['create', '--role', 'viewer', '--name', 'x'.repeat(300)], { migrations: [] }),
      ).rejects.toThrow(/^--name must be at most 128 characters \(got 300\); usage: modelwatch keys create/);
    } finally {
      vi.unstubAllEnvs();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
