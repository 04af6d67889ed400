/**
 * Cooldown on event time, per model and reason (and segmentation, for segment triggers): two
 * triggers of the same model and reason are never closer than `cooldown` (window end to window
 * end). Candidates are taken oldest first against the triggers already stored, so every
 * instance, restart and replay keeps the same ones.
 */
import type { Firing, Reason } from './trigger.js';

export interface StoredTrigger {
  triggerId: string;
  reason: Reason;
  end: number;
  /** A segment trigger's segmentation (`Firing.key`): each segmentation has its own cooldown. */
  key?: string | undefined;
}

export function applyCooldown(
  candidates: readonly (Firing & { triggerId: string })[],
  stored: readonly StoredTrigger[],
  cooldownMs: number,
): (Firing & { triggerId: string })[] {
  const kept: (Firing & { triggerId: string })[] = [];
  const taken = [...stored];
  // Versions in code-unit order: localeCompare follows the process's locale (LANG), so two instances
  // could keep different versions of one window, two triggers where the cooldown allows one.
  const sorted = [...candidates].sort(
    (a, b) => a.end - b.end || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0),
  );
  for (const c of sorted) {
    if (taken.some((t) => t.triggerId === c.triggerId)) {
      kept.push(c);
      continue;
    }
    // Symmetric, so a window judged late (another version, a late label) cannot slip in before a stored trigger.
    if (taken.some((t) => sameCondition(t, c) && Math.abs(t.end - c.end) < cooldownMs)) continue;
    kept.push(c);
    taken.push({ triggerId: c.triggerId, reason: c.reason, end: c.end, key: c.key });
  }
  return kept;
}

function sameCondition(
  a: Pick<StoredTrigger, 'reason' | 'key'>,
  b: Pick<StoredTrigger, 'reason' | 'key'>,
): boolean {
  return a.reason === b.reason && (a.key ?? '') === (b.key ?? '');
}
