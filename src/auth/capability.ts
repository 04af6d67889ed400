import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { authMigrations, KeyStore } from './keys.js';

export interface AuthCapability extends Capability {
  /** Checks the API's bearer keys (the HTTP auth hook) and creates them. */
  keys: KeyStore;
}

/** API keys and roles (SPEC 9): the `api_keys` table and `modelwatch keys`. */
export const auth: CapabilityDefinition<AuthCapability> = {
  name: 'auth',
  migrations: authMigrations,
  commands: {
    keys: { summary: 'create an API key: keys create --role viewer|auditor|admin', load: async () => (await import('./keys-command.js')).keysCommand },
  },
  create: ({ db, config }) => ({ keys: new KeyStore(db, config.api.adminKey) }),
};
