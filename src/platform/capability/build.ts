import type { Migration } from '../clickhouse/index.js';
import type { Capability, CapabilityDefinition, Platform } from './capability.js';

export interface BuiltCapability {
  name: string;
  instance: Capability;
}

/** Creates every capability once, in list order; `use` builds a dependency first when needed. */
export function buildCapabilities(
  definitions: readonly CapabilityDefinition[],
  platform: Platform,
): BuiltCapability[] {
  const built = new Map<CapabilityDefinition, Capability>();
  const building = new Set<CapabilityDefinition>();
  const use = <U extends Capability>(definition: CapabilityDefinition<U>): U => {
    const done = built.get(definition);
    if (done) return done as U;
    if (building.has(definition))
      throw new Error(`capability ${definition.name} needs itself through a cycle of use()`);
    building.add(definition);
    const instance = definition.create(platform, use);
    building.delete(definition);
    built.set(definition, instance);
    return instance;
  };
  for (const definition of definitions) use(definition);
  return definitions.map((definition) => ({ name: definition.name, instance: use(definition) }));
}

/** Every capability's migrations in one list, ordered by their global versions. */
export function allMigrations(definitions: readonly CapabilityDefinition[]): Migration[] {
  return definitions.flatMap((d) => d.migrations ?? []).sort((a, b) => a.version - b.version);
}

/** Commands or benchmarks of every capability by name; two capabilities may not claim one name. */
export function entriesByName<T>(
  definitions: readonly CapabilityDefinition[],
  pick: (d: CapabilityDefinition) => Readonly<Record<string, T>> | undefined,
): Map<string, T> {
  const entries = new Map<string, T>();
  for (const definition of definitions) {
    for (const [name, entry] of Object.entries(pick(definition) ?? {})) {
      if (entries.has(name)) throw new Error(`two capabilities declare '${name}'`);
      entries.set(name, entry);
    }
  }
  return entries;
}
