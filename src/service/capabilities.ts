import { audit } from '../audit/index.js';
import { changeDetection } from '../change-detection/index.js';
import { auth } from '../auth/index.js';
import { collectors } from '../collectors/index.js';
import { dashboards } from '../dashboards/index.js';
import { drift } from '../drift/index.js';
import { inference } from '../inference/index.js';
import { metrics } from '../metrics/index.js';
import { models } from '../models/index.js';
import { performanceEstimation } from '../performance-estimation/index.js';
import { shadow } from '../shadow/index.js';
import type { CapabilityDefinition } from '../platform/capability/index.js';
import { triggers } from '../triggers/index.js';

/**
 * Every capability of the service, in start order (stopped in reverse). Adding one is a folder
 * whose `index.ts` exports a `CapabilityDefinition`, and a line here.
 */
export const capabilities: readonly CapabilityDefinition[] = [
  auth,
  models,
  // Before the capabilities that audit their changes: its log takes records once it starts, and
  // it stops after them.
  audit,
  collectors,
  metrics,
  drift,
  performanceEstimation,
  changeDetection,
  triggers,
  inference,
  shadow,
  dashboards,
];
