/**
 * Limits on the free-form parts of an audit record (`details`). A record is hashed, stored and
 * exported forever, so hostile input (deep nesting, huge strings, NaN, lone surrogates that JCS
 * refuses) is refused up front with the path of the offending value.
 */

/** @default 8 */
export const MAX_DETAILS_DEPTH = 8;
/** Longest string anywhere in `details`, in UTF-16 code units. @default 4096 */
export const MAX_DETAILS_STRING = 4_096;
/** Most members (keys plus array items) in `details` altogether. @default 512 */
export const MAX_DETAILS_MEMBERS = 512;

// In a `u` regex a paired surrogate is one code point, so \p{Cs} matches only lone ones (which
// JCS refuses). String.prototype.isWellFormed is ES2024, beyond the project's lib.
const LONE_SURROGATE = /\p{Cs}/u;

export function wellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

// JSON.parse makes `__proto__` an own key, but copying the object by assignment (as zod and
// spreads into `{}` do) turns it into the copy's prototype: the key would silently vanish.
export const PROTO_KEY = '__proto__';
export const PROTO_MESSAGE = 'is refused as a key (a copy of the object would drop it)';

export type JsonPath = (string | number)[];

/** Returns a problem `{ path, message }` or undefined when `value` is bounded, finite JSON. */
export function checkBoundedJson(
  value: unknown,
  path: JsonPath,
): { path: JsonPath; message: string } | undefined {
  let members = 0;
  const stack: { value: unknown; path: JsonPath; depth: number }[] = [{ value, path, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (!item) break;
    const problem = checkScalar(item.value);
    if (problem !== null) {
      if (problem) return { path: item.path, message: problem };
      continue;
    }
    if (item.depth >= MAX_DETAILS_DEPTH)
      return { path: item.path, message: `nested deeper than ${MAX_DETAILS_DEPTH} levels` };
    const entries: [string | number, unknown][] = Array.isArray(item.value)
      ? item.value.map((v, i): [number, unknown] => [i, v])
      : Object.entries(item.value as Record<string, unknown>);
    members += entries.length;
    if (members > MAX_DETAILS_MEMBERS)
      return { path: item.path, message: `more than ${MAX_DETAILS_MEMBERS} members in all` };
    for (const [key, child] of entries) {
      if (typeof key === 'string' && !wellFormed(key))
        return { path: item.path, message: 'has a key with a lone surrogate' };
      if (typeof key === 'string' && key.length > 256)
        return { path: item.path, message: 'has a key longer than 256 characters' };
      if (key === PROTO_KEY) return { path: [...item.path, key], message: PROTO_MESSAGE };
      stack.push({ value: child, path: [...item.path, key], depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** '' = fine scalar, a message = bad, null = a container to descend into. */
function checkScalar(value: unknown): string | null {
  if (value === null || typeof value === 'boolean') return '';
  if (typeof value === 'number') return Number.isFinite(value) ? '' : 'is not a finite number';
  if (typeof value === 'string') {
    if (value.length > MAX_DETAILS_STRING) return `is longer than ${MAX_DETAILS_STRING} characters`;
    return wellFormed(value) ? '' : 'holds a lone surrogate';
  }
  if (Array.isArray(value)) return null;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return null;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === null) return null;
  return `is not a JSON value (${typeof value})`;
}
