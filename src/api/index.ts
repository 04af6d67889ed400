export { buildApp, type AppDeps, type Readiness } from './app.js';
export { errorBody, errorSchema, nullableNumber, type ErrorBody } from './schemas.js';
