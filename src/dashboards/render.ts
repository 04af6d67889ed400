import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { driftDashboard, DRIFT_UID } from './drift.js';
import { governanceDashboard, GOVERNANCE_UID } from './governance.js';
import { ingestDashboard, INGEST_UID } from './ingest.js';
import { modelsDashboard, MODELS_UID } from './models.js';

export interface DashboardDefinition {
  uid: string;
  build(): Dashboard;
}

export const DASHBOARDS: readonly DashboardDefinition[] = [
  { uid: INGEST_UID, build: () => ingestDashboard().build() },
  { uid: MODELS_UID, build: () => modelsDashboard().build() },
  { uid: DRIFT_UID, build: () => driftDashboard().build() },
  { uid: GOVERNANCE_UID, build: () => governanceDashboard().build() },
];

interface PanelLike {
  id?: number;
  targets?: { refId?: string }[];
  panels?: object[];
}

/**
 * Panel ids and query refIds that Grafana would otherwise assign on load, numbered in layout
 * order so a file only changes where a panel or query changed.
 */
function numberPanels(dashboard: Dashboard): void {
  let id = 0;
  const visit = (panels: readonly object[] | undefined) => {
    for (const panel of (panels ?? []) as PanelLike[]) {
      panel.id = ++id;
      panel.targets?.forEach((target, i) => (target.refId ??= String.fromCharCode(65 + i)));
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/**
 * Grafana dashboard JSON with keys sorted at every level, so the text depends only on the
 * content and not on the order the SDK's builders happened to set fields in.
 */
export function renderDashboard(definition: DashboardDefinition): string {
  const dashboard = definition.build();
  numberPanels(dashboard);
  // The round trip drops the SDK's marker methods and undefined fields.
  const plain: unknown = JSON.parse(JSON.stringify(dashboard));
  return `${JSON.stringify(sortKeys(plain), null, 2)}\n`;
}
