export { KeyStore, ROLES, roleAllows, hashKey, generateKey, authMigrations, type Role, type Principal } from './keys.js';
