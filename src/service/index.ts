export { API_CLOSE_GRACE_MS, startService, type RunningService, type ServiceOptions } from './service.js';
export { capabilities } from './capabilities.js';
