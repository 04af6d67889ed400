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
    keys: {
      summary: 'API keys: keys create --role viewer|auditor|admin [--name N] | keys list | keys revoke ID',
      load: async () => (await import('./keys-command.js')).keysCommand,
    },
  },
  create: ({ db, config }) => ({ keys: new KeyStore(db, config.api.adminKey) }),
};
