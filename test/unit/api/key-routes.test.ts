import { describe, expect, it, vi } from 'vitest';
import { KeyStore, MAX_KEY_NAME } from '../../../src/auth/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { KEYS, message, stubApp } from './stub-app.js';

/** The key routes over a KeyStore whose table is empty (no active key has any name). */
async function keyApp() {
  const insert = vi.fn(() => Promise.resolve());
  const query = () => Promise.resolve({ json: () => Promise.resolve([{ n: 0 }]) });
  const keys = new KeyStore({ client: { insert, query } } as unknown as Database, KEYS.admin);
  const { call, audited } = await stubApp([], undefined, keys);
  const create = (name: string) =>
    call({ method: 'POST', url: '/api/v1/keys', key: KEYS.admin, payload: { role: 'viewer', name } });
  return { create, insert, audited };
}

describe('POST /keys names', () => {
  it('takes what `modelwatch keys create --name` takes: spaces and Unicode (regression: a 400)', async () => {
    const { create, insert, audited } = await keyApp();
    for (const name of ['ci reader', 'Zoë ✓ 😀']) {
      const created = await create(name);
      expect([created.statusCode, created.json<{ name: string }>().name]).toEqual([201, name]);
    }
    expect(insert).toHaveBeenCalledTimes(2);
    await vi.waitFor(() =>
      expect(audited.filter((r) => r.action === 'key.create').map((r) => r.details['name'])).toEqual([
        'ci reader',
        'Zoë ✓ 😀',
      ]),
    );
  });

  it('refuses what keyNameProblem refuses, naming the field, before anything is stored', async () => {
    const { create, insert } = await keyApp();
    const refused = async (name: string) => {
      const response = await create(name);
      return [response.statusCode, message(response)];
    };
    expect(await refused('')).toEqual([400, 'body/name must not be empty']);
    expect(await refused('x'.repeat(MAX_KEY_NAME + 1))).toEqual([
      400,
      `body/name must be at most ${MAX_KEY_NAME} characters (got ${MAX_KEY_NAME + 1})`,
    ]);
    expect(await refused('anonymous')).toEqual([
      400,
      expect.stringMatching(/^body\/name 'anonymous' is reserved/) as string,
    ]);
    expect(insert).not.toHaveBeenCalled();
  });
});
