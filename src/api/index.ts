export { buildApp, type AppDeps, type Readiness } from './app.js';
export { errorSchema, nullableNumber } from './schemas.js';
