/** Verification of everything stored in `audit_events`, optionally against held digests. */
import type { Database } from '../platform/clickhouse/index.js';
import { checkAnchorRecords, readAnchorRecords } from './anchor-records.js';
import { readAnchors } from './anchors.js';
import { streamLinks } from './link-reader.js';
import { listChains, readAt, type ChainSummary } from './store.js';
import {
  ChainVerifier,
  checkDigestEntry,
  type BrokenLink,
  type ChainAnchor,
  type DigestEntry,
} from './verify.js';

export interface VerifyOptions {
  /** Held chain heads; each must still be stored with the same hash. */
  digest?: readonly DigestEntry[];
  /** Chains whose prefix retention deleted: verification resumes after the anchor. @default the stored anchors (`audit_anchors`) */
  anchors?: ReadonlyMap<string, ChainAnchor>;
  /** Also re-canonicalize every record in JavaScript (see VerifierOptions). @default false */
  checkCanonical?: boolean;
  /** Only these chains (and the digest's entries for them). @default every stored or digested chain */
  chains?: readonly string[];
  /** @default DEFAULT_PAGE_POSITIONS */
  pagePositions?: number;
  /**
   * Each chain's source end (its partition's high watermark), read after the heads: a head whose
   * source offset is at or beyond it was edited, and would make the writer skip what follows.
   * @default not checked
   */
  sourceEnds?: () => Promise<ReadonlyMap<string, number>>;
  /** Ends the verification (rejecting) at its next row once aborted: a shutdown does not wait for 1M rows. */
  signal?: AbortSignal;
}

export interface VerifyReport {
  ok: boolean;
  /** Rows whose link was recomputed and matched. */
  checked: number;
  chains: number;
  /** The first broken link, chains in name order: the chain's earliest broken position. */
  first_broken?: BrokenLink;
  /** The earliest broken link of every broken chain. */
  broken: BrokenLink[];
}

export async function verifyStore(db: Database, options: VerifyOptions = {}): Promise<VerifyReport> {
  const stored = new Map((await listChains(db)).map((c) => [c.chain, c]));
  const anchors = new Map(options.anchors ?? (await readAnchors(db)));
  const ends = (await options.sourceEnds?.()) ?? new Map<string, number>();
  const digestChains = new Set((options.digest ?? []).map((e) => e.chain));
  const only = options.chains ? new Set(options.chains) : undefined;
  // Anchored chains too: one whose every row is gone still has its anchor.
  const names = [...new Set([...stored.keys(), ...digestChains, ...anchors.keys()])]
    .filter((c) => !only || only.has(c))
    .sort();
  let checked = 0;
  const broken: BrokenLink[] = [];
  const used = new Map<string, ChainAnchor>();
  for (const chain of names) {
    options.signal?.throwIfAborted();
    const input: ChainInput = {
      chain,
      summary: stored.get(chain),
      anchor: anchors.get(chain),
      end: ends.get(chain),
      digest: (options.digest ?? []).filter((e) => e.chain === chain),
    };
    let result = await verifyChain(db, input, options);
    // A retention run that anchored and trimmed this chain since the anchors were read leaves a
    // false `gap`: verified again from the new anchor, which is then the one checked and reported.
    const moved = result.broken && !options.anchors ? await movedAnchor(db, chain, input.anchor) : undefined;
    if (moved) {
      anchors.set(chain, moved);
      result = await verifyChain(db, { ...input, anchor: moved }, options);
    }
    const anchor = anchors.get(chain);
    if (anchor) used.set(chain, anchor);
    checked += result.checked;
    if (result.broken) broken.push(result.broken);
  }
  const all = await withAnchorChecks(db, broken, used, new Set(names), anchors);
  const [first] = all;
  return {
    ok: all.length === 0,
    checked,
    chains: names.length,
    ...(first ? { first_broken: first } : {}),
    broken: all,
  };
}

interface ChainInput {
  chain: string;
  summary: ChainSummary | undefined;
  anchor: ChainAnchor | undefined;
  /** The chain's source end (VerifyOptions.sourceEnds). */
  end: number | undefined;
  /** The held digest's entries for this chain. */
  digest: readonly DigestEntry[];
}

/** One chain's links checked from its anchor on, and its earliest break (links, head or digest). */
async function verifyChain(
  db: Database,
  { chain, summary, anchor, end, digest }: ChainInput,
  options: VerifyOptions,
): Promise<{ checked: number; broken?: BrokenLink }> {
  const last = summary?.last ?? 0;
  const verifier = new ChainVerifier(chain, {
    ...(anchor ? { anchor } : {}),
    checkCanonical: options.checkCanonical === true,
  });
  if (last > 0) {
    const from = anchor ? anchor.position + 1 : 0;
    for await (const row of streamLinks(db, chain, {
      from,
      upTo: last,
      pagePositions: options.pagePositions,
    })) {
      options.signal?.throwIfAborted();
      if (!verifier.push(row)) break;
    }
  }
  const found = [
    verifier.firstBroken ?? afterVerified(chain, verifier.head.position, summary, anchor, end),
    await checkDigest(db, digest, last, anchor),
  ].filter((b): b is BrokenLink => b !== undefined);
  const earliest = found.sort((a, b) => a.position - b.position)[0];
  return { checked: verifier.checked, ...(earliest ? { broken: earliest } : {}) };
}

/** The chain's latest stored anchor, if it is not `before` (retention anchored it meanwhile). */
async function movedAnchor(
  db: Database,
  chain: string,
  before: ChainAnchor | undefined,
): Promise<ChainAnchor | undefined> {
  const latest = (await readAnchors(db)).get(chain);
  if (!latest || (latest.position === before?.position && latest.hash === before.hash)) return undefined;
  return latest;
}

/**
 * What a chain that linked up to `head` can still be: cut at or before its retention anchor
 * (retention never deletes the head), holding a row beyond 2^53 - 1, or a head whose source
 * offset is past the source's end.
 */
function afterVerified(
  chain: string,
  head: number,
  summary: ChainSummary | undefined,
  anchor: ChainAnchor | undefined,
  end: number | undefined,
): BrokenLink | undefined {
  if (anchor && (summary?.last ?? 0) <= anchor.position)
    return {
      chain,
      position: anchor.position + 1,
      reason: 'truncated',
      message: `the chain ends at or before its retention anchor (through ${anchor.position}); retention never deletes a chain's head`,
    };
  if (summary?.beyond !== undefined)
    return {
      chain,
      position: head + 1,
      reason: 'unexpected_position',
      message: `a row at position ${summary.beyond}, beyond 2^53 - 1 where no chain gets; the chain ends at ${head}`,
    };
  if (summary && end !== undefined && summary.head_offset >= end)
    return {
      chain,
      position: summary.last,
      reason: 'offset_beyond_end',
      message: `the head's source offset ${summary.head_offset} is at or beyond the source's end ${end}: its source_offset was edited`,
    };
  return undefined;
}

/**
 * Adds an `anchor_unrecorded` break for each anchor used that no proven `retention.delete` record
 * backs; a chain keeps its earliest break. A record is proven when its chain was verified here,
 * is not broken at or before it, and it lies after that chain's own anchor.
 */
async function withAnchorChecks(
  db: Database,
  broken: readonly BrokenLink[],
  used: ReadonlyMap<string, ChainAnchor>,
  verified: ReadonlySet<string>,
  anchors: ReadonlyMap<string, ChainAnchor>,
): Promise<BrokenLink[]> {
  if (used.size === 0) return [...broken];
  const breaks = new Map(broken.map((b) => [b.chain, b]));
  const found = checkAnchorRecords(used, await readAnchorRecords(db), (chain, position) => {
    if (!verified.has(chain)) return undefined;
    const at = breaks.get(chain)?.position ?? Number.POSITIVE_INFINITY;
    return position < at && position > (anchors.get(chain)?.position ?? 0);
  });
  for (const b of found) {
    const earlier = breaks.get(b.chain);
    if (!earlier || b.position < earlier.position) breaks.set(b.chain, b);
  }
  return [...breaks.values()].sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
}

async function checkDigest(
  db: Database,
  entries: readonly DigestEntry[],
  last: number,
  anchor: ChainAnchor | undefined,
): Promise<BrokenLink | undefined> {
  for (const entry of [...entries].sort((a, b) => a.position - b.position)) {
    // Retention deleted the rows up to the anchor: an entry there is checked against the anchor's
    // hash, one before it cannot be checked any more (its row is gone by design).
    if (anchor && entry.position < anchor.position) continue;
    const end = Math.max(last, anchor?.position ?? 0);
    if (anchor && entry.position === anchor.position) {
      const problem = checkDigestEntry(entry, [{ hash: anchor.hash }], end);
      if (problem) return problem;
      continue;
    }
    const rows = entry.position <= last ? await readAt(db, entry.chain, entry.position) : [];
    const problem = checkDigestEntry(entry, rows, end);
    if (problem) return problem;
  }
  return undefined;
}
