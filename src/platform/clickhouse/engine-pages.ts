import { readFile } from 'node:fs/promises';
import { errorMessage } from '../errors.js';

/**
 * Loading the embedded engine runs ClickHouse's start-up code across its 566 MB library and
 * leaves ~200 MB of the library's pages mapped in this process, of which ingest and queries use
 * ~80–115 MB afterwards (collectors README, "Where the memory is"). The rest are clean pages of
 * the file: the kernel would reclaim them under pressure, but until then they count in the
 * process's RSS and in a container's working set, which is what operators and orchestrators
 * watch. `MADV_PAGEOUT` (Linux 5.4 and later) reclaims them now; a page used later is read back
 * from the file. Pages another process also maps are left alone by the kernel.
 */

const MADV_PAGEOUT = 21;

/** A mapping of the process (one line of `/proc/self/smaps`, with its resident size). */
export interface Mapping {
  start: bigint;
  end: bigint;
  permissions: string;
  path: string;
  residentBytes: number;
}

export type PageRelease =
  | { released: true; mappings: number; residentBefore: number; residentAfter: number }
  | { released: false; reason: string };

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/;
const RSS = /^Rss:\s+(\d+) kB$/;

/** The mappings of `/proc/<pid>/smaps` text, with each one's `Rss`. */
export function parseSmaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      const [, start = '0', end = '0', permissions = '', path = ''] = header;
      mappings.push({
        start: BigInt(`0x${start}`),
        end: BigInt(`0x${end}`),
        permissions,
        path,
        residentBytes: 0,
      });
      continue;
    }
    const rss = RSS.exec(line);
    const last = mappings.at(-1);
    if (rss && last) last.residentBytes = Number(rss[1]) * 1024;
  }
  return mappings;
}

/** The engine library's mappings that hold only the file's own pages (not writable ones). */
export function engineLibraryMappings(mappings: readonly Mapping[]): Mapping[] {
  return mappings.filter((m) => /\/libchdb[^/]*\.so$/.test(m.path) && !m.permissions.includes('w'));
}

interface Madvise {
  (address: bigint, length: number, advice: number): number;
  /** The same call on libuv's thread pool: the event loop does not wait for the kernel. */
  async(address: bigint, length: number, advice: number, done: (err: unknown, result: number) => void): void;
}

/** glibc's `madvise` through the koffi FFI, or why it cannot be bound. */
async function bindMadvise(): Promise<Madvise | string> {
  try {
    const koffi = (await import('koffi')).default;
    return koffi.load('libc.so.6').func('int madvise(uint64_t addr, size_t len, int advice)') as Madvise;
  } catch (err) {
    return `madvise could not be bound: ${errorMessage(err).split('\n')[0] ?? ''}`;
  }
}

const REFUSED = 'the kernel refused MADV_PAGEOUT (Linux 5.4 or later needed)';

const residentOf = (mappings: readonly Mapping[]) => mappings.reduce((sum, m) => sum + m.residentBytes, 0);

async function engineMappings(): Promise<Mapping[]> {
  return engineLibraryMappings(parseSmaps(await readFile('/proc/self/smaps', 'utf8')));
}

/**
 * Asks the kernel to reclaim the engine library's pages now (once, after start-up). Never
 * throws: where it cannot (another OS, an old kernel, no engine loaded) it says why.
 */
export async function releaseEngineStartupPages(): Promise<PageRelease> {
  if (process.platform !== 'linux') return { released: false, reason: `not Linux (${process.platform})` };
  const before = await engineMappings();
  if (before.length === 0) return { released: false, reason: 'the embedded engine is not loaded' };
  const madvise = await bindMadvise();
  if (typeof madvise === 'string') return { released: false, reason: madvise };
  for (const m of before) {
    if (madvise(m.start, Number(m.end - m.start), MADV_PAGEOUT) !== 0)
      return { released: false, reason: REFUSED };
  }
  return {
    released: true,
    mappings: before.length,
    residentBefore: residentOf(before),
    residentAfter: residentOf(await engineMappings()),
  };
}

/** Releases the engine library's pages on a timer until stopped. */
export interface PageReleaser {
  /** Releases finished so far. */
  readonly releases: number;
  stop(): void;
}

/**
 * Releases the engine library's pages again every `intervalMs`. Ingest, merges and queries
 * touch ~80–110 MB of the library over minutes, most of it code that runs now and then (a
 * merge, a kind of query); once released it stays out until used again, while what runs all
 * the time comes back within a second (collectors README, "Where the memory is"). Each round
 * runs on libuv's thread pool, and a round still running when the next is due is skipped.
 * `onStop` hears why it stopped if the kernel refuses, which ends the timer.
 */
export async function releaseEnginePagesEvery(
  intervalMs: number,
  onStop: (reason: string) => void,
): Promise<PageReleaser | string> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const mappings = await engineMappings();
  if (mappings.length === 0) return 'the embedded engine is not loaded';
  const madvise = await bindMadvise();
  if (typeof madvise === 'string') return madvise;
  let releases = 0;
  let pending = 0;
  const round = () => {
    if (pending > 0) return;
    pending = mappings.length;
    let refused = false;
    for (const m of mappings)
      madvise.async(m.start, Number(m.end - m.start), MADV_PAGEOUT, (err, result) => {
        if (err || result !== 0) refused = true;
        pending -= 1;
        if (pending > 0) return;
        if (!refused) releases += 1;
        else if (timer) {
          releaser.stop();
          onStop(REFUSED);
        }
      });
  };
  let timer: NodeJS.Timeout | undefined = setInterval(round, intervalMs).unref();
  const releaser: PageReleaser = {
    get releases() {
      return releases;
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
  return releaser;
}
