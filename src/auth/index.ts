export { auth, type AuthCapability } from './capability.js';
export { KeyStore, ROLES, roleAllows, hashKey, generateKey, type Role, type Principal } from './keys.js';
