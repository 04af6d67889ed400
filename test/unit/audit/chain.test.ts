import { describe, expect, it } from 'vitest';
import {
  GENESIS_HASH,
  canonicalJson,
  chainHash,
  linkRecords,
  parseAuditRecord,
} from '../../../src/audit/index.js';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('JCS (RFC 8785) through canonicalize', () => {
  it('serializes numbers as RFC 8785 Appendix B lists them', () => {
    const table: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555555', '333333333.3333333'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
    ];
    for (const [bits, expected] of table) expect(canonicalJson(fromBits(bits)), bits).toBe(expected);
  });

  it('refuses NaN and Infinity, as RFC 8785 requires', () => {
    expect(() => canonicalJson({ x: fromBits('7ff0000000000000') })).toThrow(/Infinity/);
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/NaN/);
  });

  it('reproduces the RFC 8785 section 3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    const hex =
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d';
    expect(Buffer.from(canonicalJson(input), 'utf8').toString('hex')).toBe(hex);
  });

  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // The RFC's expected output (JSON.parse cannot show the order: it puts "1" first).
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('refuses a lone surrogate', () => {
    expect(() => canonicalJson({ s: '\ud800' })).toThrow(/surrogate/i);
  });
});

describe('chain hash', () => {
  // Expected hashes computed outside JavaScript: Python hashlib.sha256(('0'*64 + record).encode()).
  const first =
    '{"action":"key.create","at":"2026-01-02T03:04:05.678Z","details":{"role":"auditor"},"kind":"change","outcome":"allowed","principal":"admin","resource_id":"k1","resource_type":"api_key"}';
  const second =
    '{"action":"read","at":"2026-01-02T03:04:06.000Z","details":{"event_id":"e-1","purpose":"café 😀"},"entity_id":"customer-123","kind":"access","outcome":"denied","principal":"svc","resource_id":"p-1","resource_type":"prediction"}';
  const h1 = '2a8f03b0b4a811b0e2779f04185509d1d3eb8c2a65e1dc7916be38eefdc076c1';
  const h2 = '27e95ea6c0be6823c85fd0171c20a1225ea32f471cc17495d320887cb55a564f';

  it('is SHA-256 of the hex prev_hash followed by the UTF-8 JCS text', () => {
    expect(chainHash(GENESIS_HASH, first)).toBe(h1);
    expect(chainHash(h1, second)).toBe(h2);
  });

  it('links parsed records from the genesis hash, canonicalizing what was parsed', () => {
    const records = [
      parseAuditRecord({
        kind: 'change',
        at: Date.parse('2026-01-02T03:04:05.678Z'),
        principal: 'admin',
        action: 'key.create',
        resource_type: 'api_key',
        resource_id: 'k1',
        outcome: 'allowed',
        details: { role: 'auditor' },
      }),
      parseAuditRecord({
        outcome: 'denied',
        kind: 'access',
        at: '2026-01-02T04:04:06+01:00',
        principal: 'svc',
        action: 'read',
        resource_type: 'prediction',
        resource_id: 'p-1',
        entity_id: 'customer-123',
        details: { purpose: 'café 😀', event_id: 'e-1' },
      }),
    ];
    const { links, head } = linkRecords({ chain: 'c', position: 0, hash: GENESIS_HASH }, records);
    expect(links.map((l) => [l.position, l.prev_hash, l.record, l.hash])).toEqual([
      [1, GENESIS_HASH, first, h1],
      [2, h1, second, h2],
    ]);
    expect(head).toEqual({ chain: 'c', position: 2, hash: h2 });
  });

  it('refuses a prev_hash that is not 64 lowercase hex characters', () => {
    expect(() => chainHash('ABC', '{}')).toThrow(/prev_hash/);
    expect(() => chainHash(GENESIS_HASH.toUpperCase().replace(/0/g, 'F'), '{}')).toThrow(/prev_hash/);
  });
});
