export { ModelRegistry, type ModelVersionRecord } from './registry.js';
export { inferTask, TASKS, type Task } from './task.js';
