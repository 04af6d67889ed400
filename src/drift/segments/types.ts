/** The shapes a segmented answer adds to the drift and quality routes' answers. */

/**
 * What a segment is measured against: `segment`, its own rows of the reference range; `population`,
 * the whole reference; `mixed`, its own rows except the columns in `population_columns` (too few
 * values of their own), measured against the whole reference's.
 */
export type SegmentReferenceUse = 'segment' | 'population' | 'mixed';

/** What a segmented answer adds to the population's. */
export interface SegmentOf<B> {
  /** The feature's or tag's value; null for `other` and for predictions without a value. */
  value: string | null;
  other: boolean;
  predictions: number;
  reference: SegmentReferenceUse;
  /** `mixed`: the columns measured against the whole reference. */
  population_columns?: string[];
  /** Why the segment is measured against the whole reference when that is not the usual reason. */
  note?: string;
  buckets: B[];
}

export interface SegmentHeader {
  by: string;
  max_segments: number;
  /** `stored`: the segments' buckets are the segment loop's stored windows. */
  source?: 'stored';
}
