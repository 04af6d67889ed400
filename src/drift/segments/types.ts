/** The shapes a segmented answer adds to the drift and quality routes' answers. */

/** What a segmented answer adds to the population's. */
export interface SegmentOf<B> {
  /** The feature's or tag's value; null for `other` and for predictions without a value. */
  value: string | null;
  other: boolean;
  predictions: number;
  /** What the segment is measured against: its own rows of the reference range, or the whole reference. */
  reference: 'segment' | 'population';
  buckets: B[];
}

export interface SegmentHeader {
  by: string;
  max_segments: number;
  /** `stored`: the segments' buckets are the segment loop's stored windows. */
  source?: 'stored';
}
