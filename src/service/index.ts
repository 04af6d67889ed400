export { startService, type RunningService, type ServiceDeps, type ServiceOptions } from './service.js';
