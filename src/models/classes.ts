/**
 * Boolean classes are stored as 'true'/'false' and numeric ones as '1'/'0' (collectors/rows.ts):
 * they are one class, so booleans are compared as their numeric text.
 */
export function normalizeClass(value: string): string {
  if (value === 'true') return '1';
  if (value === 'false') return '0';
  return value;
}
