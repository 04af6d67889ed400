/** What the drift and quality routes share to answer `?segment=`. */
import { DriftError } from '../errors.js';
import type { SegmentedAnalysis } from './segmented.js';

/** The query with the policy's declared bucket for its segmentation, when it is segmented and names none. */
export async function withDeclaredWindow<
  Q extends { segment?: string | undefined; bucket?: string | undefined },
>(segmented: SegmentedAnalysis | undefined, modelId: string, query: Q): Promise<Q> {
  if (segmented === undefined || query.segment === undefined || query.bucket !== undefined) return query;
  const declared = await segmented.declaredWindow(modelId, query.segment);
  return declared === undefined ? query : { ...query, bucket: declared };
}

/**
 * `source=stored`: the query with the stored windows' bucket, or undefined for a computed answer.
 * Refused without a segment (stored windows are per segment).
 */
export async function storedQuery<
  Q extends { segment?: string | undefined; bucket?: string | undefined; source?: string | undefined },
>(
  segmented: SegmentedAnalysis | undefined,
  modelId: string,
  query: Q,
): Promise<(Q & { segment: string }) | undefined> {
  if (query.source !== 'stored') return undefined;
  if (query.segment === undefined)
    throw new DriftError('BAD_INPUT', 'querystring/source: stored windows are per segment; give segment too');
  const bucket = await requireSegmented(segmented).storedBucket(modelId, query.segment, query.bucket);
  return { ...query, segment: query.segment, bucket };
}

export function requireSegmented(segmented: SegmentedAnalysis | undefined): SegmentedAnalysis {
  if (segmented === undefined)
    throw new DriftError('BAD_INPUT', 'querystring/segment: segments are not available here');
  return segmented;
}
