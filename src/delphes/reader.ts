/**
 * Delphes adapter: reads the split TClonesArray branches hepflow needs (`Jet.PT`,
 * `EFlowTrack.X`, ...) in chunks of entries and hands out DelphesEvent objects whose
 * collections are typed-array views into the chunk's arrays (no per-particle objects).
 * Memory is bounded by the chunk size whatever the file size; the next chunk's baskets
 * are fetched while the caller works on the current one.
 */
import type { RandomAccessSource } from '../storage/random-access.js';
import { DELPHES_BRANCHES, type DelphesEvent } from '../contract/delphes-event.js';
import { DEFAULT_COALESCE, type CoalesceOptions } from '../root/reader/basket.js';
import { MissingBranchError, RootFormatError } from '../errors.js';
import { openRootFile } from '../root/reader/file.js';
import type { NumericArray, NumericBranchData, NumericType } from '../root/reader/interpretation.js';
import { BasketCache, RootTree } from '../root/reader/tree.js';

type Collection = keyof DelphesEvent;

/** For each DelphesEvent field: its Delphes leaf name and the type the contract needs. */
const FIELDS = {
  electrons: { pt: ['PT', 'f32'], eta: ['Eta', 'f32'], phi: ['Phi', 'f32'], charge: ['Charge', 'i32'] },
  muons: { pt: ['PT', 'f32'], eta: ['Eta', 'f32'], phi: ['Phi', 'f32'], charge: ['Charge', 'i32'] },
  jets: { pt: ['PT', 'f32'], eta: ['Eta', 'f32'], phi: ['Phi', 'f32'], mass: ['Mass', 'f32'], btag: ['BTag', 'u32'] },
  missingEt: { met: ['MET', 'f32'], eta: ['Eta', 'f32'], phi: ['Phi', 'f32'] },
  tracks: {
    pt: ['PT', 'f32'],
    eta: ['Eta', 'f32'],
    phi: ['Phi', 'f32'],
    charge: ['Charge', 'i32'],
    pid: ['PID', 'i32'],
    x: ['X', 'f32'],
    y: ['Y', 'f32'],
    z: ['Z', 'f32'],
  },
  photons: { et: ['ET', 'f32'], eta: ['Eta', 'f32'], phi: ['Phi', 'f32'], e: ['E', 'f32'] },
  neutralHadrons: { et: ['ET', 'f32'], eta: ['Eta', 'f32'], phi: ['Phi', 'f32'], e: ['E', 'f32'] },
} as const satisfies { [C in Collection]: { [F in keyof DelphesEvent[C]]: readonly [string, NumericType] } };

export interface DelphesReadOptions {
  /** Default `Delphes`. */
  readonly treeName?: string;
  readonly entryStart?: number;
  readonly entryStop?: number;
  /** Entries per chunk (default 1000): bounds memory to about that many events. */
  readonly entriesPerChunk?: number;
  /**
   * Collections to deliver as empty when the file lacks them (e.g. the shared test file
   * has no Electron, MuonTight or MissingET), instead of failing with MissingBranchError.
   */
  readonly emptyIfMissing?: readonly Collection[] | 'all';
  readonly coalesce?: Partial<CoalesceOptions>;
}

/**
 * One chunk of events. The events' arrays are views into the chunk's per-branch arrays,
 * so holding any event keeps its whole chunk's arrays alive: copy what must outlive it.
 */
export interface DelphesChunk {
  readonly uri: string;
  readonly entryStart: number;
  readonly entryStop: number;
  readonly events: readonly DelphesEvent[];
  /** Collections that were absent from the file and delivered empty. */
  readonly missing: readonly Collection[];
}

interface Plan {
  readonly tree: RootTree;
  readonly present: readonly Collection[];
  readonly missing: readonly Collection[];
  readonly branches: readonly string[];
}

const COLLECTIONS = Object.keys(FIELDS) as Collection[];

function branchName(collection: Collection, leaf: string): string {
  return `${DELPHES_BRANCHES[collection]}.${leaf}`;
}

function plan(uri: string, tree: RootTree, emptyIfMissing: DelphesReadOptions['emptyIfMissing']): Plan {
  const present: Collection[] = [];
  const missing: Collection[] = [];
  const branches: string[] = [];
  for (const c of COLLECTIONS) {
    const names = fieldsOf(c).map(([, leaf]) => branchName(c, leaf));
    const absent = names.filter((n) => !tree.hasBranch(n));
    const mayBeEmpty = emptyIfMissing === 'all' || (emptyIfMissing ?? []).includes(c);
    // Only a wholly absent collection may be replaced by an empty one; a half-present
    // one means a different Delphes class layout and must not be read as empty.
    if (absent.length === names.length && mayBeEmpty && !tree.hasBranch(DELPHES_BRANCHES[c])) {
      missing.push(c);
      continue;
    }
    if (absent.length > 0) throw new MissingBranchError(uri, tree.name, absent[0]!);
    for (const [, leaf, want] of fieldsOf(c)) {
      const name = branchName(c, leaf);
      const interp = tree.interpretation(name);
      if (interp.type !== want || !interp.jagged) {
        throw new RootFormatError(
          uri,
          `branch '${name}' holds ${interp.jagged ? 'jagged' : 'flat'} ${interp.type}, expected jagged ${want}`,
        );
      }
    }
    present.push(c);
    branches.push(...names);
  }
  return { tree, present, missing, branches };
}

const EMPTY: Record<NumericType, NumericArray> = {
  i8: new Int8Array(0),
  u8: new Uint8Array(0),
  bool: new Uint8Array(0),
  i16: new Int16Array(0),
  u16: new Uint16Array(0),
  i32: new Int32Array(0),
  u32: new Uint32Array(0),
  i64: new BigInt64Array(0),
  u64: new BigUint64Array(0),
  f32: new Float32Array(0),
  f64: new Float64Array(0),
};

type FieldSpec = readonly [field: string, leaf: string, type: NumericType];

function fieldsOf(c: Collection): FieldSpec[] {
  return Object.entries(FIELDS[c]).map(([field, [leaf, type]]) => [field, leaf, type] as const);
}

function emptyCollection(c: Collection): Record<string, NumericArray> {
  const out: Record<string, NumericArray> = {};
  for (const [field, , type] of fieldsOf(c)) out[field] = EMPTY[type];
  return out;
}

async function readChunk(uri: string, p: Plan, start: number, stop: number, cache: BasketCache): Promise<DelphesChunk> {
  const data = await p.tree.readBranches(p.branches, { entryStart: start, entryStop: stop, cache });
  const n = stop - start;
  const perCollection = p.present.map((c) => {
    const fields = fieldsOf(c).map(([field, leaf]) => {
      const d = data.get(branchName(c, leaf)) as NumericBranchData;
      return { field, values: d.values, offsets: d.offsets! };
    });
    const offsets = fields[0]!.offsets;
    for (const f of fields) {
      for (let i = 0; i <= n; i++) {
        if (f.offsets[i] !== offsets[i]) {
          throw new RootFormatError(
            uri,
            `collection ${DELPHES_BRANCHES[c]}: field ${f.field} has a different length than ${fields[0]!.field} in entry ${start + i}`,
          );
        }
      }
    }
    return { c, fields, offsets };
  });
  const empties = Object.fromEntries(p.missing.map((c) => [c, emptyCollection(c)]));
  const events: DelphesEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const event: Record<string, Record<string, NumericArray>> = { ...empties };
    for (const { c, fields, offsets } of perCollection) {
      const from = offsets[i]!;
      const to = offsets[i + 1]!;
      const coll: Record<string, NumericArray> = {};
      for (const f of fields) coll[f.field] = f.values.subarray(from, to);
      event[c] = coll;
    }
    events[i] = event as unknown as DelphesEvent;
  }
  return { uri, entryStart: start, entryStop: stop, events, missing: p.missing };
}

/**
 * Streams the events of a Delphes file as chunks. `input` is a source (opened here) or a
 * tree the caller already opened (saving the opening reads when it needed the tree for
 * planning anyway; `treeName` is then ignored). Fails with MissingBranchError (naming the
 * file and branch) when a needed branch is absent and the collection was not listed in
 * `emptyIfMissing`, and with RootFormatError for corrupt or non-ROOT input.
 */
export async function* readDelphesEvents(
  input: RandomAccessSource | RootTree,
  options: DelphesReadOptions = {},
): AsyncGenerator<DelphesChunk> {
  const tree =
    input instanceof RootTree ? input : await (await openRootFile(input)).getTree(options.treeName ?? 'Delphes');
  const uri = tree.uri;
  if (options.coalesce) tree.coalesce = { ...DEFAULT_COALESCE, ...options.coalesce };
  const p = plan(uri, tree, options.emptyIfMissing);
  const first = Math.max(0, options.entryStart ?? 0);
  const last = Math.min(tree.numEntries, options.entryStop ?? tree.numEntries);
  const size = options.entriesPerChunk ?? 1000;
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`entriesPerChunk must be a positive integer, got ${size}`);
  const cache = new BasketCache();
  let pending: Promise<DelphesChunk> | undefined =
    first < last ? readChunk(uri, p, first, Math.min(last, first + size), cache) : undefined;
  while (pending) {
    const chunk = await pending;
    const next = chunk.entryStop;
    cache.evictBefore(next);
    pending = next < last ? readChunk(uri, p, next, Math.min(last, next + size), cache) : undefined;
    // Nothing awaits the prefetch until the next iteration; keep its failure from being
    // reported as unhandled if the caller stops early.
    pending?.catch(() => undefined);
    yield chunk;
  }
}

export type { Collection as DelphesCollection };
