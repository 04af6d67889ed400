/** Change detection on the per-prediction loss (Page-Hinkley), the route and the pure detector. */
export { changeDetection, type ChangeDetectionCapability } from './capability.js';
export {
  detectChanges,
  PageHinkley,
  PAGE_HINKLEY_DEFAULTS,
  type PageHinkleyOptions,
} from './page-hinkley.js';
export { ChangeDetectionService, detectInStream, type ChangeReport, type Detection } from './service.js';
export { changeDetectionPolicySchema } from './settings.js';
export { ChangeDetectionError } from './errors.js';
