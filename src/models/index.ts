export { ModelRegistry, STAGES, type ModelVersionRecord, type Stage, type VersionCorrection } from './registry.js';
export { inferTask, TASKS, type Task } from './task.js';
export { normalizeClass } from './classes.js';
export { modelRoutes, type ModelRoutesDeps } from './routes.js';
