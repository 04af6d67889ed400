import { describe, expect, it } from 'vitest';
import { engineLibraryMappings, parseSmaps } from '../../../src/platform/clickhouse/engine-pages.js';

// Abridged from a service's /proc/<pid>/smaps: the engine library's four mappings, node's, an
// anonymous one, and a file whose name merely contains the library's.
const SMAPS = `7f0a00000000-7f0a04000000 r--p 00000000 103:02 1234 /app/node_modules/chdb/build/Release/libchdb.so
Size:              65536 kB
Rss:               20480 kB
Private_Clean:     20480 kB
7f0a04000000-7f0a20000000 r-xp 04000000 103:02 1234 /app/node_modules/chdb/build/Release/libchdb.so
Size:             458752 kB
Rss:              180224 kB
7f0a20000000-7f0a21000000 r--p 20000000 103:02 1234 /app/node_modules/chdb/build/Release/libchdb.so
Rss:                8192 kB
7f0a21000000-7f0a21100000 rw-p 21000000 103:02 1234 /app/node_modules/chdb/build/Release/libchdb.so
Rss:                1024 kB
7f0a30000000-7f0a30100000 rw-p 00000000 00:00 0
Rss:                1024 kB
55d000000000-55d003000000 r-xp 00000000 103:02 99 /usr/bin/node
Rss:               51200 kB
7f0a40000000-7f0a40001000 r--p 00000000 103:02 77 /data/libchdb.so.backup/notes.txt
Rss:                   4 kB
`;

describe('engine start-up pages', () => {
  it('reads each mapping of smaps with its address range, permissions, path and resident bytes', () => {
    const mappings = parseSmaps(SMAPS);
    expect(mappings).toHaveLength(7);
    expect(mappings[1]).toEqual({
      start: 0x7f0a04000000n,
      end: 0x7f0a20000000n,
      permissions: 'r-xp',
      path: '/app/node_modules/chdb/build/Release/libchdb.so',
      residentBytes: 180_224 * 1024,
    });
    expect(mappings[4]).toMatchObject({ path: '', residentBytes: 1024 * 1024 });
  });

  it("picks the engine library's mappings that hold only the file's pages", () => {
    const picked = engineLibraryMappings(parseSmaps(SMAPS));
    expect(picked.map((m) => m.permissions)).toEqual(['r--p', 'r-xp', 'r--p']);
    expect(picked.every((m) => m.path.endsWith('/libchdb.so'))).toBe(true);
  });
});
