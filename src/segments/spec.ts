/**
 * What a request segments by: `feature:<name>` (a categorical feature's value) or `tag:<name>`
 * (a prediction tag's value). Names are bounded like feature names; the text itself never
 * enters SQL (it travels as a query parameter).
 */
import { SegmentError } from './errors.js';

export type SegmentKind = 'feature' | 'tag';

export interface SegmentSpec {
  kind: SegmentKind;
  name: string;
}

/**
 * Characters of a feature or tag name, the collectors' limits: a feature name in UTF-16 units
 * (the collectors' `name.length`), a tag name in code points (their schema's `max(256)`, checked
 * by ajv, which counts an emoji as one), so every name they accept can be segmented by.
 */
export const MAX_SEGMENT_NAME_LENGTH = 256;
/**
 * Characters (code points, as the route's JSON schema `maxLength` counts them) of the whole
 * `segment` parameter (kind, colon, name).
 */
export const MAX_SEGMENT_PARAM_LENGTH = 'feature:'.length + MAX_SEGMENT_NAME_LENGTH;

// C0, DEL and C1 (U+0080-U+009F: NEL breaks lines too), as API key names are checked.
const CONTROL_CHARACTER = /\p{Cc}/u;

const short = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

/** `feature:region` or `tag:channel`; a 400 naming `field` otherwise. */
export function parseSegment(text: string, field = 'querystring/segment'): SegmentSpec {
  // Code points, as the schema counts; a very long parameter is refused by its length alone.
  const length = text.length > 10_000 ? text.length : [...text].length;
  if (length > MAX_SEGMENT_PARAM_LENGTH)
    throw new SegmentError(
      'BAD_INPUT',
      `${field}: ${length} characters; at most ${MAX_SEGMENT_PARAM_LENGTH} (feature:<name> or tag:<name>, a name of at most ${MAX_SEGMENT_NAME_LENGTH})`,
    );
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const name = colon < 0 ? '' : text.slice(colon + 1);
  if (kind !== 'feature' && kind !== 'tag')
    throw new SegmentError(
      'BAD_INPUT',
      `${field}: '${short(text)}' is not feature:<name> or tag:<name> (e.g. feature:region)`,
    );
  if (name.length === 0) throw new SegmentError('BAD_INPUT', `${field}: the ${kind} name is empty`);
  // As the collectors count: a tag name in code points, a feature name in UTF-16 units.
  const nameLength = kind === 'tag' ? [...name].length : name.length;
  if (nameLength > MAX_SEGMENT_NAME_LENGTH)
    throw new SegmentError(
      'BAD_INPUT',
      `${field}: the ${kind} name is ${nameLength} characters; at most ${MAX_SEGMENT_NAME_LENGTH}`,
    );
  if (CONTROL_CHARACTER.test(name))
    throw new SegmentError('BAD_INPUT', `${field}: the ${kind} name holds a control character`);
  return { kind, name };
}

export function formatSegment(spec: SegmentSpec): string {
  return `${spec.kind}:${spec.name}`;
}
