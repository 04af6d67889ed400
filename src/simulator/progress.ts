/** The one progress line: what was published, what the service took in, what it found. */
import type { StorySummary } from './summary.js';

export interface Counts {
  predictions: number;
  labels: number;
  access: number;
}

export interface Observed {
  ingested: number;
  /** Undefined until the first month after the reference period has been measured. */
  drifted: readonly string[] | undefined;
  triggers: number;
}

const n = (x: number) => x.toLocaleString('en-US');

export function progressText(simNow: number, published: Counts, observed: Observed): string {
  const total = published.predictions + published.labels + published.access;
  return [
    `simulated ${new Date(simNow).toISOString().slice(0, 10)}`,
    `published ${n(total)} (${n(published.predictions)} predictions)`,
    `ingested ${n(observed.ingested)}`,
    `drift ${driftText(observed.drifted)}`,
    `triggers ${observed.triggers}`,
  ].join(' · ');
}

function driftText(drifted: readonly string[] | undefined): string {
  if (drifted === undefined) return 'not measured yet';
  return drifted.length === 0 ? 'none' : drifted.join(', ');
}

/**
 * The summary's own figures, for the progress line drawn just above it (the line's are up to a
 * read interval old); a figure the summary could not read keeps the line's last known value.
 */
export function observedInSummary(summary: StorySummary, last: Observed): Observed {
  const { ingested, drifted, triggers } = summary;
  return {
    ingested:
      'value' in ingested
        ? ingested.value.predictions + ingested.value.labels + ingested.value.access
        : last.ingested,
    drifted:
      drifted === undefined
        ? undefined
        : 'value' in drifted
          ? drifted.value.map((d) => d.column)
          : last.drifted,
    triggers: 'value' in triggers ? triggers.value.length : last.triggers,
  };
}
