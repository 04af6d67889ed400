import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  type DashboardLink,
} from '@grafana/grafana-foundation-sdk/dashboard';

export const DASHBOARD_TAG = 'modelwatch';

/** Settings every modelwatch dashboard shares, with a drop-down linking to the others. */
export function baseDashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([DASHBOARD_TAG])
    .editable()
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .tooltip(DashboardCursorSync.Crosshair)
    .link(dashboardsLink());
}

function dashboardsLink(): Builder<DashboardLink> {
  const link = new DashboardLinkBuilder('modelwatch')
    .type(DashboardLinkType.Dashboards)
    .tags([DASHBOARD_TAG])
    .asDropdown(true)
    .keepTime(true)
    .includeVars(false)
    .targetBlank(false)
    .build();
  // The SDK defaults links into the dashboard controls menu; in the top bar they are seen.
  delete link.placement;
  return { build: () => link };
}
