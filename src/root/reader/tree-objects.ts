/**
 * Deserialisers for the ROOT classes that describe a TTree: TTree, TBranch,
 * TBranchElement, TBranchObject, TLeaf and its typed subclasses, and TBasket when ROOT
 * stored one inside its branch. Built-in layouts cover the class versions ROOT writes
 * today; other versions are read member by member through the file's StreamerInfo
 * (streamers.ts). The object layer they stand on (references, TNamed, TObjArray) is
 * objects.ts.
 */
import type { Cursor, VersionHeader } from './cursor.js';
import { UnsupportedRootFeatureError } from '../../errors.js';
import { readMembers, type StreamerInfos } from './streamers.js';
import { readObjArray, readObjectAny, readTNamed, RefTable, type Reader } from './objects.js';

export interface RawLeaf {
  readonly className: string;
  readonly name: string;
  readonly title: string;
  /** Fixed number of values per entry (1 for scalars, N for `x[N]`). */
  readonly len: number;
  /** Bytes per value as ROOT recorded it (0 when unknown, e.g. objects). */
  readonly lenType: number;
  readonly isUnsigned: boolean;
  /** The counter leaf for `x[n]` leaves, when it was resolvable. */
  readonly leafCount: RawLeaf | null;
  /** TLeafElement only: the streamer type code of the element. */
  readonly elementType: number | undefined;
}

/** A basket that ROOT kept in memory and wrote into the TTree object ("recovered"). */
export interface EmbeddedBasket {
  readonly entries: number;
  /** Data bytes (without the key header), uncompressed. */
  readonly data: Uint8Array;
  /** Per-entry byte offsets into `data` (entries + 1 values), when entries vary in size. */
  readonly offsets: Int32Array | null;
}

export interface RawBranchElement {
  readonly className: string;
  readonly parentName: string;
  readonly clonesName: string;
  readonly id: number;
  readonly type: number;
  readonly streamerType: number;
}

export interface RawBranch {
  readonly className: string;
  readonly name: string;
  readonly title: string;
  readonly entryOffsetLen: number;
  readonly writeBasket: number;
  readonly entries: number;
  readonly branches: readonly RawBranch[];
  readonly leaves: readonly RawLeaf[];
  readonly embeddedBaskets: readonly (EmbeddedBasket | null)[];
  readonly basketBytes: readonly number[];
  readonly basketEntry: readonly number[];
  readonly basketSeek: readonly number[];
  readonly element: RawBranchElement | undefined;
}

export interface RawTree {
  readonly name: string;
  readonly title: string;
  readonly entries: number;
  readonly branches: readonly RawBranch[];
}

/** The readers readObjectAny dispatches to for the tree's classes, by class name. */
export const TREE_READERS: Record<string, Reader> = {
  TBranch: (c, refs) => readBranch(c, refs, 'TBranch'),
  TBranchElement: (c, refs) => readBranchElement(c, refs),
  TBranchObject: (c, refs) => readBranchObject(c, refs),
  TLeafElement: (c, refs) => readLeafElement(c, refs),
  TBasket: (c) => readEmbeddedBasket(c),
};
for (const leafClass of [
  'TLeafB',
  'TLeafS',
  'TLeafI',
  'TLeafL',
  'TLeafF',
  'TLeafD',
  'TLeafO',
  'TLeafC',
  'TLeafF16',
  'TLeafD32',
  'TLeafG',
]) {
  TREE_READERS[leafClass] = (c, refs) => readTypedLeaf(c, refs, leafClass);
}

function readTLeafBase(c: Cursor, refs: RefTable, className: string): Omit<RawLeaf, 'elementType'> {
  const header = c.versionHeader();
  if (header.version !== 2 || refs.preferStreamers) {
    const m: Record<string, unknown> = {};
    readMembers(c, refs, 'TLeaf', header.version, m);
    c.skipTo(header, 'TLeaf');
    return leafFromMembers(c, m, className);
  }
  const { name, title } = readTNamed(c);
  const len = c.i32();
  const lenType = c.i32();
  c.i32(); // fOffset
  c.u8(); // fIsRange
  const isUnsigned = c.u8() !== 0;
  const count = readObjectAny(c, refs);
  c.skipTo(header, 'TLeaf');
  return { className, name, title, len, lenType, isUnsigned, leafCount: isLeaf(count) ? count : null };
}

/** A leaf's fields from the members StreamerInfo read (the path for versions the fixed layout does not know). */
function leafFromMembers(c: Cursor, m: Record<string, unknown>, className: string): Omit<RawLeaf, 'elementType'> {
  const count = m['fLeafCount'];
  return {
    className,
    name: str(c, m, 'name'),
    title: str(c, m, 'title'),
    len: num(c, m, 'fLen'),
    lenType: num(c, m, 'fLenType'),
    isUnsigned: num(c, m, 'fIsUnsigned') !== 0,
    leafCount: isLeaf(count) ? count : null,
  };
}

function isLeaf(x: unknown): x is RawLeaf {
  return typeof x === 'object' && x !== null && 'lenType' in x && 'leafCount' in x;
}

function readTypedLeaf(c: Cursor, refs: RefTable, className: string): RawLeaf {
  const header = c.versionHeader();
  const base = readTLeafBase(c, refs, className);
  c.skipTo(header, className); // fMinimum / fMaximum
  return { ...base, elementType: undefined };
}

function readLeafElement(c: Cursor, refs: RefTable): RawLeaf {
  const header = c.versionHeader();
  if (header.version !== 1 || refs.preferStreamers) {
    const m: Record<string, unknown> = {};
    readMembers(c, refs, 'TLeafElement', header.version, m);
    c.skipTo(header, 'TLeafElement');
    return { ...leafFromMembers(c, m, 'TLeafElement'), elementType: num(c, m, 'fType') };
  }
  const base = readTLeafBase(c, refs, 'TLeafElement');
  c.i32(); // fID
  const elementType = c.i32();
  c.skipTo(header, 'TLeafElement');
  return { ...base, elementType };
}

/** Typed access to members read through StreamerInfo. */
function num(c: Cursor, m: Record<string, unknown>, key: string): number {
  const v = m[key];
  if (typeof v !== 'number') c.fail(`member ${key} is missing or not a number`);
  return v;
}
function str(c: Cursor, m: Record<string, unknown>, key: string): string {
  const v = m[key];
  if (typeof v !== 'string') c.fail(`member ${key} is missing or not a string`);
  return v;
}
function list(c: Cursor, m: Record<string, unknown>, key: string): unknown[] {
  const v = m[key];
  if (!Array.isArray(v)) c.fail(`member ${key} is missing or not a list`);
  return v;
}
function numbers(c: Cursor, m: Record<string, unknown>, key: string): number[] {
  const v = list(c, m, key);
  if (!v.every((x) => typeof x === 'number')) c.fail(`member ${key} holds non-numbers`);
  return v;
}

function unsupported(c: Cursor, what: string): never {
  throw new UnsupportedRootFeatureError(c.uri, `${c.what}: ${what} is not supported by this reader`);
}

function readI32Array(c: Cursor, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = c.i32();
  return out;
}
function readI64Array(c: Cursor, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = c.i64();
  return out;
}

/**
 * TBranch v10 to v13 (ROOT 5.x to 6.x). Layouts, in order: TNamed, TAttFill, fCompress,
 * fBasketSize, fEntryOffsetLen, fWriteBasket, fEntryNumber, [v13: fIOFeatures], fOffset,
 * fMaxBaskets, fSplitLevel, fEntries, [v11+: fFirstEntry], fTotBytes, fZipBytes,
 * fBranches, fLeaves, fBaskets, then fBasketBytes, fBasketEntry, fBasketSeek, each a
 * one-byte array marker followed by fMaxBaskets values.
 */
export function readBranch(c: Cursor, refs: RefTable, className: string): RawBranch {
  const header = c.versionHeader();
  const v = header.version;
  if (v < 10 || v > 13 || refs.preferStreamers) {
    const m: Record<string, unknown> = {};
    if (readMembers(c, refs, 'TBranch', v, m, 'fBasketSeek')) c.skipTo(header, 'TBranch');
    return branchFromMembers(c, m, className);
  }
  const { name, title } = readTNamed(c);
  c.skipObject('TAttFill');
  c.i32(); // fCompress
  c.i32(); // fBasketSize
  const entryOffsetLen = c.i32();
  const writeBasket = c.i32();
  c.i64(); // fEntryNumber
  if (v >= 13) c.skipObject('ROOT::TIOFeatures');
  c.i32(); // fOffset
  const maxBaskets = c.i32();
  c.i32(); // fSplitLevel
  const entries = c.i64();
  if (v >= 11) c.i64(); // fFirstEntry
  c.i64(); // fTotBytes
  c.i64(); // fZipBytes
  if (maxBaskets < 0 || maxBaskets * 16 > c.length || writeBasket < 0 || writeBasket > maxBaskets) {
    c.fail(`branch '${name}' has implausible basket counts (fMaxBaskets ${maxBaskets}, fWriteBasket ${writeBasket})`);
  }
  const branches = readObjArray(c, refs).filter(isBranch);
  const leaves = readObjArray(c, refs).filter(isLeaf);
  const baskets = readObjArray(c, refs);
  c.u8();
  const basketBytes = readI32Array(c, maxBaskets);
  c.u8();
  const basketEntry = readI64Array(c, maxBaskets);
  c.u8();
  const basketSeek = readI64Array(c, maxBaskets);
  c.skipTo(header, 'TBranch');
  const embeddedBaskets = baskets.map((b) => (isEmbeddedBasket(b) ? b : null));
  return {
    className,
    name,
    title,
    entryOffsetLen,
    writeBasket,
    entries,
    branches,
    leaves,
    embeddedBaskets,
    basketBytes,
    basketEntry,
    basketSeek,
    element: undefined,
  };
}

function branchFromMembers(c: Cursor, m: Record<string, unknown>, className: string): RawBranch {
  const maxBaskets = num(c, m, 'fMaxBaskets');
  const basketBytes = numbers(c, m, 'fBasketBytes');
  const basketEntry = numbers(c, m, 'fBasketEntry');
  const basketSeek = numbers(c, m, 'fBasketSeek');
  const writeBasket = num(c, m, 'fWriteBasket');
  if (
    writeBasket < 0 ||
    writeBasket > maxBaskets ||
    [basketBytes, basketEntry, basketSeek].some((a) => a.length !== maxBaskets)
  ) {
    c.fail(`branch '${String(m['name'])}' has inconsistent basket tables`);
  }
  return {
    className,
    name: str(c, m, 'name'),
    title: str(c, m, 'title'),
    entryOffsetLen: num(c, m, 'fEntryOffsetLen'),
    writeBasket,
    entries: num(c, m, 'fEntries'),
    branches: list(c, m, 'fBranches').filter(isBranch),
    leaves: list(c, m, 'fLeaves').filter(isLeaf),
    embeddedBaskets: list(c, m, 'fBaskets').map((b) => (isEmbeddedBasket(b) ? b : null)),
    basketBytes,
    basketEntry,
    basketSeek,
    element: undefined,
  };
}

function isBranch(x: unknown): x is RawBranch {
  return typeof x === 'object' && x !== null && 'basketSeek' in x;
}
function isEmbeddedBasket(x: unknown): x is EmbeddedBasket {
  return typeof x === 'object' && x !== null && 'data' in x && 'entries' in x;
}

/** TBranchElement v8 to v10: a TBranch followed by the streamer element it stores. */
function readBranchElement(c: Cursor, refs: RefTable): RawBranch {
  const header = c.versionHeader();
  const v = header.version;
  if (v < 8 || v > 10 || refs.preferStreamers) {
    const m: Record<string, unknown> = {};
    readMembers(c, refs, 'TBranchElement', v, m);
    c.skipTo(header, 'TBranchElement');
    const element = {
      className: str(c, m, 'fClassName'),
      parentName: str(c, m, 'fParentName'),
      clonesName: str(c, m, 'fClonesName'),
      id: num(c, m, 'fID'),
      type: num(c, m, 'fType'),
      streamerType: num(c, m, 'fStreamerType'),
    };
    return { ...branchFromMembers(c, m, 'TBranchElement'), element };
  }
  const base = readBranch(c, refs, 'TBranchElement');
  const className = c.tstring();
  const parentName = c.tstring();
  const clonesName = c.tstring();
  c.u32(); // fCheckSum
  if (v >= 10) c.i16();
  else c.i32(); // fClassVersion
  const id = c.i32();
  const type = c.i32();
  const streamerType = c.i32();
  c.i32(); // fMaximum
  // Read, not skipped: a branch streamed here for the first time is referenced later.
  readObjectAny(c, refs); // fBranchCount
  readObjectAny(c, refs); // fBranchCount2
  c.skipTo(header, 'TBranchElement');
  return { ...base, element: { className, parentName, clonesName, id, type, streamerType } };
}

/** TBranchObject: a TBranch plus the class name; its leaves say the rest. */
function readBranchObject(c: Cursor, refs: RefTable): RawBranch {
  const header = c.versionHeader();
  const base = readBranch(c, refs, 'TBranchObject');
  c.skipTo(header, 'TBranchObject');
  return base;
}

/**
 * A TBasket stored inside its TBranch: the key header, the basket header, the entry
 * offsets when entries vary in size, a copy of the key header, then the raw data.
 */
function readEmbeddedBasket(c: Cursor): EmbeddedBasket {
  const start = c.pos;
  c.i32(); // fNbytes
  c.i16(); // key version
  c.i32(); // fObjlen
  c.u32(); // fDatime
  const keylen = c.i16();
  c.i16(); // fCycle
  // Basket header sits at the end of the key header: fVersion, fBufferSize,
  // fNevBufSize, fNevBuf, fLast, then a flag byte.
  c.seek(start + keylen - 19);
  c.u16(); // fVersion
  c.i32(); // fBufferSize
  const nevBufSize = c.i32();
  const entries = c.i32();
  const last = c.i32();
  const flag = c.u8();
  const border = last - keylen;
  if (entries < 0 || border < 0 || border > c.length || entries * 4 > c.length)
    c.fail(`embedded basket with ${entries} entries and fLast ${last} is corrupt`);
  if (flag > 20 && flag < 40) unsupported(c, 'an embedded basket with entry displacements');
  let offsets: Int32Array | null = null;
  if (nevBufSize * entries + keylen !== last) {
    c.i32(); // array length, equal to entries
    offsets = new Int32Array(entries + 1);
    for (let i = 0; i < entries; i++) offsets[i] = c.i32() - keylen;
    offsets[entries] = border;
  }
  c.skip(keylen); // the key header is repeated in front of the data
  const data = c.take(border).slice();
  return { entries, data, offsets };
}

/**
 * Reads the TTree object out of its decompressed key payload: TTree v16 to v20 built in,
 * other versions through `streamers` (NeedStreamerInfo when they are not given).
 */
export function readTree(c: Cursor, streamers?: StreamerInfos, preferStreamers = false): RawTree {
  const refs = new RefTable(streamers, preferStreamers);
  const header: VersionHeader = c.versionHeader();
  const v = header.version;
  if (v < 16 || v > 20 || preferStreamers) {
    const m: Record<string, unknown> = {};
    readMembers(c, refs, 'TTree', v, m, 'fBranches');
    c.skipTo(header, 'TTree');
    const entries = num(c, m, 'fEntries');
    if (!Number.isSafeInteger(entries) || entries < 0) c.fail(`TTree has ${entries} entries`);
    return {
      name: str(c, m, 'name'),
      title: str(c, m, 'title'),
      entries,
      branches: list(c, m, 'fBranches').filter(isBranch),
    };
  }
  const { name, title } = readTNamed(c);
  c.skipObject('TAttLine');
  c.skipObject('TAttFill');
  c.skipObject('TAttMarker');
  const entries = c.i64();
  c.i64(); // fTotBytes
  c.i64(); // fZipBytes
  c.i64(); // fSavedBytes
  if (v >= 18) c.i64(); // fFlushedBytes
  c.f64(); // fWeight
  c.i32(); // fTimerInterval
  c.i32(); // fScanField
  c.i32(); // fUpdate
  if (v >= 17) c.i32(); // fDefaultEntryOffsetLen
  const clusterRanges = v >= 19 ? c.i32() : 0;
  c.i64(); // fMaxEntries
  c.i64(); // fMaxEntryLoop
  c.i64(); // fMaxVirtualSize
  c.i64(); // fAutoSave
  if (v >= 18) c.i64(); // fAutoFlush
  c.i64(); // fEstimate
  if (v >= 19) {
    if (clusterRanges < 0 || clusterRanges * 8 > c.length) c.fail(`TTree claims ${clusterRanges} cluster ranges`);
    c.u8();
    c.skip(8 * clusterRanges); // fClusterRangeEnd
    c.u8();
    c.skip(8 * clusterRanges); // fClusterSize
  }
  if (v >= 20) c.skipObject('ROOT::TIOFeatures');
  const branches = readObjArray(c, refs).filter(isBranch);
  // fLeaves, fAliases, indices, friends, user info and fBranchRef are not needed.
  c.skipTo(header, 'TTree');
  if (entries < 0) c.fail(`TTree '${name}' has ${entries} entries`);
  return { name, title, entries, branches };
}
