/**
 * THE one place a registry change reaches the audit trail (SPEC 8). The audit capability's
 * `use(audit).record(...)` is wired here by the audit work (src/service or this capability's
 * `create`); until then `recordRegistryChange` is absent and nothing is written: no stand-in.
 */
export interface RegistryChange {
  action: 'model_version.register' | 'model_version.correct';
  /** The key's principal (name) from the auth hook, or 'unknown' when the route ran without one. */
  principal: string;
  model: string;
  version: string;
  /** What changed: the stage, task, positive class, artifact and training-data hashes. */
  details: Record<string, string>;
}

/** Writes one change to the audit trail; awaited before the route answers. */
export type RecordRegistryChange = (change: RegistryChange) => Promise<void>;
