import { describe, expect, it } from 'vitest';
import { AuditError, parseDigest } from '../../../src/audit/index.js';

const entry = {
  chain: 'ml.access-log/0',
  position: 12,
  hash: 'ab'.repeat(32),
  at: '2026-06-01T00:00:00.000Z',
};

function fieldOf(text: string): string | undefined {
  try {
    parseDigest(text);
  } catch (err) {
    expect(err).toBeInstanceOf(AuditError);
    return (err as AuditError).field;
  }
  return undefined;
}

describe('held digest files', () => {
  it('reads an array, a { heads } object, and JSON lines', () => {
    expect(parseDigest(JSON.stringify([entry]))).toEqual([entry]);
    expect(parseDigest(JSON.stringify({ heads: [entry, { ...entry, chain: 'b' }] }))).toHaveLength(2);
    expect(
      parseDigest(`${JSON.stringify(entry)}\n\n${JSON.stringify({ ...entry, position: 13 })}\n`),
    ).toHaveLength(2);
  });

  it('names the bad entry and field', () => {
    expect(fieldOf(JSON.stringify([entry, { ...entry, hash: 'XYZ' }]))).toBe('digest[1].hash');
    expect(fieldOf(JSON.stringify([{ ...entry, position: 0 }]))).toBe('digest[0].position');
    expect(fieldOf(JSON.stringify([{ ...entry, position: 1e300 }]))).toBe('digest[0].position');
    expect(fieldOf(JSON.stringify([{ ...entry, at: 'yesterday' }]))).toBe('digest[0].at');
    expect(fieldOf(JSON.stringify([{ ...entry, extra: true }]))).toBe('digest[0]');
    expect(fieldOf('{not json')).toBe('digest');
    expect(fieldOf(JSON.stringify(Array.from({ length: 100_001 }, () => entry)))).toBe('digest');
  });
});
