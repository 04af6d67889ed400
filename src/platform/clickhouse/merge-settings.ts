import type { GuardedStatement } from './migrations.js';

/**
 * `merge_selector_base` for a table written in many small inserts all day (predictions and the
 * tables written beside them): the merge selector waits for about this many parts of similar
 * size before merging them, so each row is rewritten about log_base(rows in the partition / rows
 * per insert) times. The engine's default, 5, rewrote each prediction two to three times within
 * a million rows; at 20 the service used 12% less CPU at 30,000 events/s (`bench ingest`,
 * src/collectors/README.md), for some more parts per partition at a time (tens, far below the
 * engine's limits on parts). Skipped on a server whose version does not have the setting.
 */
export const FEWER_MERGES_BASE = 20;

export function fewerMerges(table: string, onCluster: string): GuardedStatement {
  return {
    query: `ALTER TABLE ${table}${onCluster} MODIFY SETTING merge_selector_base = ${FEWER_MERGES_BASE}`,
    unless: `SELECT count() = 0 FROM system.merge_tree_settings WHERE name = 'merge_selector_base'`,
  };
}
