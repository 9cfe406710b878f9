/**
 * What `ingest` reports per file: a tree's entries, branches and, for requested
 * branches, value counts and sums read through every basket.
 *
 * Read with hepflow's own reader (src/root/reader), not jsroot: ours checks every
 * basket it reads (key and basket headers against the branch's sizes and entry counts,
 * decompressed length equal to the declared one, zlib's Adler-32 and LZ4's XXH64,
 * entry offsets in order), so a corrupt basket fails the file naming the branch and
 * the basket, where jsroot returned plausible wrong statistics.
 */
import type { RandomAccessSource } from '../storage/random-access.js';
import { BasketCache, openRootFile, RootFormatError, UnsupportedRootFeatureError } from './reader/index.js';

/** Aggregate of one branch over all entries: enough to verify a read end to end. */
export interface BranchStats {
  readonly count: number;
  readonly sum: number;
  /** The branch's value(s) in entry 0, flattened. */
  readonly first: number[];
}

export interface TreeSummary {
  readonly treeName: string;
  readonly entries: number;
  /** Top-level branch names (Delphes collections, or flat ntuple columns). */
  readonly branches: string[];
  readonly stats: Record<string, BranchStats>;
}

/** Entries per read: bounds memory to one chunk of the requested branches. */
const CHUNK_ENTRIES = 100_000;

/**
 * Opens a ROOT file and summarizes one tree (by default the first TTree in the top
 * directory). Fails with the reader's RootFileError subclasses for corrupt, truncated or
 * non-ROOT files and missing trees or branches; storage failures pass through with
 * their own (retryable) types.
 */
export async function summarizeTree(
  source: RandomAccessSource,
  requestedTree: string | undefined,
  statBranches: readonly string[] = [],
): Promise<TreeSummary> {
  const file = await openRootFile(source);
  const treeName = requestedTree ?? file.keys.find((k) => k.className === 'TTree' || k.className === 'TNtuple')?.name;
  if (treeName === undefined) {
    const found = file.keys.map((k) => `${k.name} (${k.className})`).join(', ') || 'none';
    throw new RootFormatError(source.uri, `no TTree in the top directory; keys: ${found}`);
  }
  const tree = await file.getTree(treeName);
  const acc = statBranches.map((name) => {
    const interp = tree.interpretation(name);
    if (interp.type === 'string')
      throw new UnsupportedRootFeatureError(source.uri, `branch '${name}' holds strings: no count or sum`);
    return { name, count: 0, sum: 0, first: [] as number[] };
  });
  const cache = new BasketCache();
  for (let start = 0; start < tree.numEntries && acc.length > 0; start += CHUNK_ENTRIES) {
    const stop = Math.min(tree.numEntries, start + CHUNK_ENTRIES);
    const data = await tree.readBranches(statBranches, { entryStart: start, entryStop: stop, cache });
    cache.evictBefore(stop);
    for (const a of acc) {
      const d = data.get(a.name)!;
      if (d.kind !== 'numeric') continue;
      const values = d.values;
      a.count += values.length;
      for (let i = 0; i < values.length; i++) a.sum += Number(values[i]);
      if (start === 0) {
        const end = d.offsets ? d.offsets[1]! * d.multiplicity : d.multiplicity;
        a.first = Array.from(values.subarray(0, end) as ArrayLike<number | bigint>, Number);
      }
    }
  }
  return {
    treeName,
    entries: tree.numEntries,
    branches: [...tree.topBranchNames],
    stats: Object.fromEntries(acc.map((a) => [a.name, { count: a.count, sum: a.sum, first: a.first }])),
  };
}
