/** Shadow scoring (SPEC 7): challengers score every prediction beside production, off the collectors' path. */
export { createShadow, shadow, type ShadowCapability, type ShadowOptions } from './capability.js';
export type { ShadowHooks } from './scorer.js';
export type { ShadowBucket, ShadowReport } from './report.js';
