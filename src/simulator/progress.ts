/** The one progress line: what was published, what the service took in, what it found. */
export interface Counts {
  predictions: number;
  labels: number;
  access: number;
}

export interface Observed {
  ingested: number;
  drifted: readonly string[];
  triggers: number;
}

const n = (x: number) => x.toLocaleString('en-US');

export function progressText(simNow: number, published: Counts, observed: Observed): string {
  const total = published.predictions + published.labels + published.access;
  return [
    `simulated ${new Date(simNow).toISOString().slice(0, 10)}`,
    `published ${n(total)} (${n(published.predictions)} predictions)`,
    `ingested ${n(observed.ingested)}`,
    `drift ${observed.drifted.length === 0 ? 'none' : observed.drifted.join(', ')}`,
    `triggers ${observed.triggers}`,
  ].join(' · ');
}
