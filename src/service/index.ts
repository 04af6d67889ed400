export { startService, type RunningService, type ServiceOptions } from './service.js';
export { capabilities } from './capabilities.js';
