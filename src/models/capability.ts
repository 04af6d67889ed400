import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { ModelRegistry } from './registry.js';
import { modelRoutes } from './routes.js';
import { modelMigrations } from './schema.js';

export interface ModelsCapability extends Capability {
  /** The typed read and write module of `model_versions`, shared by every capability. */
  registry: ModelRegistry;
}

/** Model versions (SPEC 4, 7): the registry, its table and routes. */
export const models: CapabilityDefinition<ModelsCapability> = {
  name: 'models',
  migrations: modelMigrations,
  create({ db }) {
    const registry = new ModelRegistry(db);
    return { registry, routes: modelRoutes({ models: registry }) };
  },
};
