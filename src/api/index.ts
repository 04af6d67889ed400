export { buildApp, type AppDeps, type Readiness } from './app.js';
export { errorBody, errorSchema, nullableNumber, type ErrorBody } from './schemas.js';
export { DEFAULT_RATE_LIMITS, MAX_TRACKED, type RateLimits } from './rate-limit.js';
