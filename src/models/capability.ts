import { inference } from '../inference/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { ArtifactStore } from './artifacts.js';
import { registerRoute } from './register-route.js';
import { ModelRegistry } from './registry.js';
import { modelRoutes } from './routes.js';
import { modelMigrations } from './schema.js';

export interface ModelsCapability extends Capability {
  /** The typed read and write module of `model_versions`, shared by every capability. */
  registry: ModelRegistry;
  /** The registered ONNX artifacts (`model_artifacts`). */
  artifacts: ArtifactStore;
}

/** Model versions (SPEC 4, 7): the registry, its artifacts, tables and routes. */
export const models: CapabilityDefinition<ModelsCapability> = {
  name: 'models',
  migrations: modelMigrations,
  create({ db }, use) {
    const registry = new ModelRegistry(db);
    const artifacts = new ArtifactStore(db);
    const core = use(inference).core;
    const versions = modelRoutes({ models: registry });
    const register = registerRoute({ registry, artifacts, core });
    return {
      registry,
      artifacts,
      routes: async (app) => {
        await app.register(versions);
        await app.register(register);
      },
    };
  },
};
