/** The capability contract: what a capability declares and how the composition root builds them. */
export type { Capability, CapabilityDefinition, Entry, Platform, Use } from './capability.js';
export { allMigrations, buildCapabilities, entriesByName, type BuiltCapability } from './build.js';
