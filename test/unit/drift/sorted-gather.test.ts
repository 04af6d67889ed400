/** Where the drift reads sort a group's values: the aggregate's sort up to its limit, else the array's. */
import { describe, expect, it } from 'vitest';
import {
  mayBeCut,
  SORTED_AGGREGATE_LIMIT,
  sortedQuery,
  sortFor,
  type Source,
} from '../../../src/drift/store/sql.js';

const source: Source = { role: 'feature', window: '0', name: 'k', value: 'v', from: 'FROM t' };

describe('sortFor, mayBeCut and sortedQuery', () => {
  it('sort in the aggregate only where no group can reach its limit, and flag a column at it', () => {
    expect(sortFor(0)).toBe('aggregate');
    expect(sortFor(SORTED_AGGREGATE_LIMIT - 1)).toBe('aggregate');
    expect(sortFor(SORTED_AGGREGATE_LIMIT)).toBe('array');
    expect(mayBeCut(SORTED_AGGREGATE_LIMIT - 1)).toBe(false);
    expect(mayBeCut(SORTED_AGGREGATE_LIMIT)).toBe(true);
  });

  it('names the aggregate with its limit (below 1,000,001 it would keep a heap), or sorts the array', () => {
    expect(sortedQuery(source, 'aggregate')).toContain(
      `groupArraySorted(${SORTED_AGGREGATE_LIMIT})(v) AS values`,
    );
    expect(sortedQuery(source, 'array')).toContain('arraySort(groupArray(v)) AS values');
    expect(SORTED_AGGREGATE_LIMIT).toBeGreaterThan(1_000_000);
  });
});
