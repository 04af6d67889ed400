export { models, type ModelsCapability } from './capability.js';
export {
  ModelRegistry,
  STAGES,
  type ModelVersionRecord,
  type SeenVersion,
  type Stage,
  type VersionCorrection,
} from './registry.js';
export { inferTask, TASKS, type Task } from './task.js';
export { normalizeClass } from './classes.js';
export { ArtifactStore, type StoredArtifact } from './artifacts.js';
export { REGISTRATION_BODY_LIMIT } from './register-route.js';
export { registrationMetadata, type RegistrationBody } from './register.js';
