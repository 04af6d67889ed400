export { auth, type AuthCapability } from './capability.js';
export {
  KEY_CACHE_MAX,
  KEY_CACHE_MS,
  KeyStore,
  MAX_KEY_NAME,
  keyNameProblem,
  ROLES,
  type KeyInfo,
  roleAllows,
  hashKey,
  generateKey,
  type Role,
  type Principal,
} from './keys.js';
