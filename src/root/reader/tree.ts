/**
 * The tree layer: a TTree's branches (nested TBranchElement sub-branches flattened under
 * their full names, e.g. `Jet.PT`), and reading entry ranges of branches. Reading many
 * branches at once collects all their baskets into one coalesced fetch.
 */
import type { RandomAccessSource } from '../../storage/random-access.js';
import {
  basketLocations,
  decodeBasket,
  DEFAULT_COALESCE,
  fetchCoalesced,
  type BasketLocation,
  type CoalesceOptions,
  type DecodedBasket,
  type IoStats,
} from './basket.js';
import { MissingBranchError, RootFormatError } from '../../errors.js';
import type { RootFile } from './file.js';
import {
  assembleNumeric,
  assembleStrings,
  interpret,
  type BranchData,
  type Interpretation,
  type NumericBranchData,
} from './interpretation.js';
import type { RawBranch, RawLeaf, RawTree } from './tree-objects.js';

export interface EntryRange {
  readonly entryStart?: number;
  readonly entryStop?: number;
}

/**
 * Decoded baskets kept between reads of consecutive entry ranges, so a basket that
 * straddles a chunk boundary is fetched and decompressed once. Callers evict what lies
 * before the next range with `evictBefore`.
 */
export class BasketCache {
  private readonly map = new Map<string, DecodedBasket>();
  get(branch: string, index: number): DecodedBasket | undefined {
    return this.map.get(`${index}\u0000${branch}`);
  }
  set(branch: string, index: number, basket: DecodedBasket): void {
    this.map.set(`${index}\u0000${branch}`, basket);
  }
  evictBefore(entry: number): void {
    for (const [k, b] of this.map) if (b.entryStop <= entry) this.map.delete(k);
  }
}

export interface ReadOptions extends EntryRange {
  readonly cache?: BasketCache;
}

interface BranchInfo {
  readonly raw: RawBranch;
  readonly locations: readonly BasketLocation[];
}

export class RootTree {
  readonly name: string;
  readonly numEntries: number;
  /** Names of the tree's own branches (Delphes collections, or flat ntuple columns). */
  readonly topBranchNames: readonly string[];
  readonly stats: IoStats = { reads: 0, bytesRead: 0 };
  coalesce: CoalesceOptions = DEFAULT_COALESCE;
  private readonly byName = new Map<string, RawBranch>();
  private readonly leafOwner = new Map<RawLeaf, RawBranch>();
  private readonly infos = new Map<string, BranchInfo>();

  constructor(
    private readonly file: RootFile,
    raw: RawTree,
  ) {
    this.name = raw.name;
    this.numEntries = raw.entries;
    this.topBranchNames = raw.branches.map((b) => b.name);
    const visit = (branches: readonly RawBranch[]): void => {
      for (const b of branches) {
        if (!this.byName.has(b.name)) this.byName.set(b.name, b);
        for (const leaf of b.leaves) this.leafOwner.set(leaf, b);
        visit(b.branches);
      }
    };
    visit(raw.branches);
  }

  private get source(): RandomAccessSource {
    return this.file.source;
  }

  /** The URI of the file this tree is in. */
  get uri(): string {
    return this.file.uri;
  }

  /** Every branch name, sub-branches included, in file order. */
  branchNames(): string[] {
    return [...this.byName.keys()];
  }

  hasBranch(name: string): boolean {
    return this.byName.has(name);
  }

  /** The raw metadata of a branch (leaves, baskets, element type). */
  branch(name: string): RawBranch {
    const b = this.byName.get(name);
    if (!b) throw new MissingBranchError(this.file.uri, this.name, name);
    return b;
  }

  interpretation(name: string): Interpretation {
    return interpret(this.file.uri, this.branch(name));
  }

  async readBranch(name: string, options: ReadOptions = {}): Promise<BranchData> {
    const out = await this.readBranches([name], options);
    return out.get(name)!;
  }

  /** Reads entries [entryStart, entryStop) of several branches with one coalesced fetch. */
  async readBranches(names: readonly string[], options: ReadOptions = {}): Promise<Map<string, BranchData>> {
    const start = options.entryStart ?? 0;
    const stop = Math.min(options.entryStop ?? this.numEntries, this.numEntries);
    if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop < start) {
      throw new RangeError(
        `invalid entry range [${start}, ${stop}) for tree '${this.name}' of ${this.numEntries} entries`,
      );
    }
    const plans = names.map((name) => {
      const info = this.info(name);
      return {
        name,
        info,
        interp: interpret(this.file.uri, info.raw),
        wanted: info.locations.filter((l) => l.entryStop > start && l.entryStart < stop),
      };
    });
    const decoded = await this.loadBaskets(plans, options.cache);
    const out = new Map<string, BranchData>();
    for (const p of plans) {
      const baskets = decoded.get(p.name)!;
      if (p.interp.type === 'string') {
        out.set(p.name, assembleStrings(this.file.uri, p.name, baskets, start, stop));
        continue;
      }
      let countsOf: ((b: DecodedBasket) => Int32Array) | undefined;
      if (p.interp.jagged && baskets.some((b) => !b.offsets)) countsOf = await this.counterLookup(p.info.raw, baskets);
      out.set(p.name, assembleNumeric(this.file.uri, p.name, p.interp, baskets, start, stop, countsOf));
    }
    return out;
  }

  private info(name: string): BranchInfo {
    let info = this.infos.get(name);
    if (!info) {
      const raw = this.branch(name);
      info = { raw, locations: basketLocations(this.file.uri, raw) };
      this.infos.set(name, info);
    }
    return info;
  }

  private async loadBaskets(
    plans: readonly { name: string; info: BranchInfo; wanted: readonly BasketLocation[] }[],
    cache: BasketCache | undefined,
  ): Promise<Map<string, DecodedBasket[]>> {
    interface Request {
      readonly seek: number;
      readonly bytes: number;
      readonly plan: (typeof plans)[number];
      readonly loc: BasketLocation;
    }
    const requests: Request[] = [];
    for (const plan of plans) {
      for (const loc of plan.wanted) {
        if (!loc.embedded && !cache?.get(plan.name, loc.index))
          requests.push({ seek: loc.seek, bytes: loc.bytes, plan, loc });
      }
    }
    const fetched = await fetchCoalesced(this.source, requests, this.coalesce, this.stats);
    const fresh = new Map<string, Map<number, DecodedBasket>>();
    for (const r of requests) {
      const basket = decodeBasket(this.file.uri, r.plan.info.raw, r.loc, fetched.get(r)!);
      cache?.set(r.plan.name, r.loc.index, basket);
      let m = fresh.get(r.plan.name);
      if (!m) fresh.set(r.plan.name, (m = new Map()));
      m.set(r.loc.index, basket);
    }
    const out = new Map<string, DecodedBasket[]>();
    for (const plan of plans) {
      out.set(
        plan.name,
        plan.wanted.map((loc) => {
          if (loc.embedded) return this.embedded(plan.info.raw, loc);
          return fresh.get(plan.name)?.get(loc.index) ?? cache!.get(plan.name, loc.index)!;
        }),
      );
    }
    return out;
  }

  private embedded(raw: RawBranch, loc: BasketLocation): DecodedBasket {
    const e = raw.embeddedBaskets[loc.index];
    if (!e)
      throw new RootFormatError(
        this.file.uri,
        `branch '${raw.name}': basket ${loc.index} is neither in the file nor in the TTree`,
      );
    if (e.entries !== loc.entryStop - loc.entryStart) {
      throw new RootFormatError(
        this.file.uri,
        `branch '${raw.name}': embedded basket holds ${e.entries} entries, expected ${loc.entryStop - loc.entryStart}`,
      );
    }
    return { entryStart: loc.entryStart, entryStop: loc.entryStop, data: e.data, offsets: e.offsets };
  }

  /** Per-basket value counts from the counter leaf, for jagged baskets without offsets. */
  private async counterLookup(
    raw: RawBranch,
    baskets: readonly DecodedBasket[],
  ): Promise<(b: DecodedBasket) => Int32Array> {
    const counterLeaf = raw.leaves[0]?.leafCount;
    const counter = counterLeaf ? this.leafOwner.get(counterLeaf) : undefined;
    if (!counter)
      throw new RootFormatError(
        this.file.uri,
        `branch '${raw.name}': jagged data without entry offsets, and its counter branch is unknown`,
      );
    const from = Math.min(...baskets.map((b) => b.entryStart));
    const to = Math.max(...baskets.map((b) => b.entryStop));
    const counts = (await this.readBranch(counter.name, { entryStart: from, entryStop: to })) as NumericBranchData;
    const values = Int32Array.from(counts.values as ArrayLike<number>);
    return (b) => values.subarray(b.entryStart - from, b.entryStop - from);
  }
}
