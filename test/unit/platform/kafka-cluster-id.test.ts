import { describe, expect, it } from 'vitest';
import { kafkaClusterId } from '../../../src/platform/kafka/local-broker/tools.js';

describe('kafkaClusterId', () => {
  it("has the form of Kafka's Uuid.randomUuid: 16 random bytes (a version 4 UUID), URL-safe base64, no leading '-'", () => {
    const ids = Array.from({ length: 2_000 }, kafkaClusterId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      const bytes = Buffer.from(id, 'base64url');
      expect(bytes).toHaveLength(16);
      // Never Kafka's reserved ids (all zero, or 1): a random UUID carries its version and variant.
      expect((bytes[6] ?? 0) >> 4).toBe(4);
      expect((bytes[8] ?? 0) >> 6).toBe(2);
    }
    // One draw in 64 starts with '-': 2,000 ids go through the redraw many times.
  });
});
