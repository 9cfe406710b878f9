/**
 * TTree metadata: the TTree object with its TBranch / TBranchElement tree and
 * TLeaf objects, serialised once at close from the columns' basket bookkeeping.
 *
 * Object identity matters here: a leaf referenced as another leaf's fLeafCount, or
 * listed again in TTree.fLeaves, is written in full at its first occurrence and as a
 * back-reference afterwards (see ObjectWriter.objectAny), exactly as ROOT does.
 */
import { ObjectWriter, TOBJECT_BITS } from './bytes.js';
import { LEAF_TYPES, type Column, type LeafType } from './basket.js';

/**
 * TObject fBits as ROOT writes them on TTree (0x03000008), TBranch (0x03400000)
 * and split TBranchElement members (0x03500000), copied from real Delphes output;
 * readers ignore them, ROOT uses some as status flags.
 */
const TTREE_BITS = TOBJECT_BITS | 0x8;
const TBRANCH_BITS = TOBJECT_BITS | 0x00400000;
const TBRANCH_ELEMENT_CHILD_BITS = TBRANCH_BITS | 0x00100000;
const TIOFEATURES_CHECKSUM = 446770960;

export interface LeafDesc {
  readonly className: 'TLeafF' | 'TLeafD' | 'TLeafI' | 'TLeafL' | 'TLeafO' | 'TLeafElement';
  readonly name: string;
  readonly title: string;
  readonly lenType: number;
  readonly isRange: boolean;
  readonly isUnsigned: boolean;
  readonly leafCount: LeafDesc | null;
  /** Value type, for TLeafX fMinimum/fMaximum. */
  readonly type: LeafType;
  /** TLeafI counters report their largest value as fMaximum. */
  readonly maximum?: () => number;
  /** TLeafElement fID / fType. */
  readonly element?: { readonly id: number; readonly type: number };
}

export interface BranchElementInfo {
  readonly className: string;
  readonly parentName: string;
  readonly clonesName: string;
  readonly checksum: number;
  readonly classVersion: number;
  readonly id: number;
  readonly type: number;
  readonly streamerType: number;
  readonly maximum: () => number;
  /**
   * The TClonesArray branch holding the element count, for split members. ROOT
   * writes it as a back-reference to the enclosing branch; jsroot needs it to read
   * members as arrays.
   */
  readonly branchCount?: () => BranchDesc;
}

export interface BranchDesc {
  readonly name: string;
  readonly title: string;
  readonly column: Column;
  readonly leaf: LeafDesc;
  readonly children: readonly BranchDesc[];
  readonly splitLevel: number;
  readonly entryOffsetLen: number;
  /** Present for TBranchElement, absent for plain TBranch. */
  readonly element?: BranchElementInfo;
  readonly isElementChild?: boolean;
}

export interface TreeDesc {
  readonly name: string;
  readonly title: string;
  readonly entries: number;
  readonly compressionCode: number;
  readonly branches: readonly BranchDesc[];
}

function allBranches(bs: readonly BranchDesc[], out: BranchDesc[] = []): BranchDesc[] {
  for (const b of bs) {
    out.push(b);
    allBranches(b.children, out);
  }
  return out;
}

/** Serialises the TTree object; `origin` is its key length. */
export function serializeTree(t: TreeDesc, origin: number): Uint8Array {
  const w = new ObjectWriter(origin, 65536);
  const every = allBranches(t.branches);
  const totBytes = every.reduce((s, b) => s + b.column.totBytes, 0);
  const zipBytes = every.reduce((s, b) => s + b.column.zipBytes, 0);

  const tree = w.begin(20);
  w.tnamed(t.name, t.title, TTREE_BITS);
  attLine(w);
  attFill(w);
  const marker = w.begin(2);
  w.i16(1);
  w.i16(1);
  w.f32(1);
  w.end(marker);
  w.i64(t.entries);
  w.i64(totBytes);
  w.i64(zipBytes);
  w.i64(0); // fSavedBytes
  w.i64(0); // fFlushedBytes
  w.f64(1); // fWeight
  w.i32(0); // fTimerInterval
  w.i32(25); // fScanField
  w.i32(0); // fUpdate
  w.i32(1000); // fDefaultEntryOffsetLen
  w.i32(0); // fNClusterRange
  w.i64(1_000_000_000_000); // fMaxEntries
  w.i64(1_000_000_000_000); // fMaxEntryLoop
  w.i64(0); // fMaxVirtualSize
  w.i64(-300_000_000); // fAutoSave
  // fAutoFlush 0: baskets of different branches are not aligned into clusters.
  w.i64(0);
  w.i64(1_000_000); // fEstimate
  w.u8(0); // fClusterRangeEnd: null array
  w.u8(0); // fClusterSize: null array
  ioFeatures(w);
  objArray(w, t.branches, (b) => writeBranch(w, b, t));
  objArray(
    w,
    every.map((b) => b.leaf),
    (l) => writeLeaf(w, l),
  );
  w.u32(0); // fAliases
  w.i32(0); // fIndexValues (empty TArrayD)
  w.i32(0); // fIndex (empty TArrayI)
  w.u32(0); // fTreeIndex
  w.u32(0); // fFriends
  w.u32(0); // fUserInfo
  w.u32(0); // fBranchRef
  w.end(tree);
  return w.toBytes();
}

function attLine(w: ObjectWriter): void {
  const m = w.begin(2);
  w.i16(602);
  w.i16(1);
  w.i16(1);
  w.end(m);
}

function attFill(w: ObjectWriter): void {
  const m = w.begin(2);
  w.i16(0);
  w.i16(1001);
  w.end(m);
}

function ioFeatures(w: ObjectWriter): void {
  const m = w.beginChecksummed(TIOFEATURES_CHECKSUM);
  w.u8(0);
  w.end(m);
}

/** TObjArray streamed in place (a data member, not a pointer). */
function objArray<T extends object>(w: ObjectWriter, items: readonly T[], write: (item: T) => void): void {
  const m = w.begin(3);
  w.tobject(TOBJECT_BITS);
  w.tstring('');
  w.i32(items.length);
  w.i32(0); // fLowerBound
  for (const it of items) write(it);
  w.end(m);
}

function writeBranch(w: ObjectWriter, b: BranchDesc, t: TreeDesc): void {
  w.objectAny(b, b.element ? 'TBranchElement' : 'TBranch', () => {
    if (!b.element) {
      tbranchBody(w, b, t);
      return;
    }
    const e = b.element;
    const m = w.begin(10);
    tbranchBody(w, b, t);
    w.tstring(e.className);
    w.tstring(e.parentName);
    w.tstring(e.clonesName);
    w.u32(e.checksum);
    w.i16(e.classVersion);
    w.i32(e.id);
    w.i32(e.type);
    w.i32(e.streamerType);
    w.i32(e.maximum());
    const counter = e.branchCount?.();
    if (counter) writeBranch(w, counter, t);
    else w.u32(0);
    w.u32(0); // fBranchCount2: only for nested variable arrays
    w.end(m);
  });
}

function tbranchBody(w: ObjectWriter, b: BranchDesc, t: TreeDesc): void {
  const c = b.column;
  const nBaskets = c.basketBytes.length;
  // ROOT keeps one slot past the last written basket: fBasketEntry[n] = entries.
  const maxBaskets = Math.max(10, nBaskets + 1);
  const m = w.begin(13);
  w.tnamed(b.name, b.title, b.isElementChild ? TBRANCH_ELEMENT_CHILD_BITS : TBRANCH_BITS);
  attFill(w);
  w.i32(t.compressionCode);
  w.i32(c.options.basketSize);
  w.i32(b.entryOffsetLen);
  w.i32(nBaskets); // fWriteBasket
  w.i64(c.entries); // fEntryNumber
  ioFeatures(w);
  w.i32(0); // fOffset
  w.i32(maxBaskets);
  w.i32(b.splitLevel);
  w.i64(c.entries);
  w.i64(0); // fFirstEntry
  w.i64(c.totBytes);
  w.i64(c.zipBytes);
  objArray(w, b.children, (child) => writeBranch(w, child, t));
  objArray(w, [b.leaf], (l) => writeLeaf(w, l));
  objArray(w, [], () => undefined); // fBaskets: everything is flushed to file
  w.u8(1);
  for (let i = 0; i < maxBaskets; i++) w.i32(c.basketBytes[i] ?? 0);
  w.u8(1);
  for (let i = 0; i < maxBaskets; i++) w.i64(i < nBaskets ? c.basketEntry[i]! : i === nBaskets ? c.entries : 0);
  w.u8(1);
  for (let i = 0; i < maxBaskets; i++) w.i64(c.basketSeek[i] ?? 0);
  w.tstring(''); // fFileName: baskets live in this file
  w.end(m);
}

function writeLeaf(w: ObjectWriter, l: LeafDesc): void {
  w.objectAny(l, l.className, () => {
    const m = w.begin(1);
    const base = w.begin(2);
    w.tnamed(l.name, l.title, TOBJECT_BITS);
    w.i32(1); // fLen
    w.i32(l.lenType);
    w.i32(0); // fOffset
    w.bool(l.isRange);
    w.bool(l.isUnsigned);
    if (l.leafCount) writeLeaf(w, l.leafCount);
    else w.u32(0);
    w.end(base);
    if (l.element) {
      w.i32(l.element.id);
      w.i32(l.element.type);
    } else {
      const max = l.maximum ? l.maximum() : 0;
      switch (LEAF_TYPES[l.type].leafClass) {
        case 'TLeafF':
          w.f32(0);
          w.f32(max);
          break;
        case 'TLeafD':
          w.f64(0);
          w.f64(max);
          break;
        case 'TLeafI':
          w.i32(0);
          w.i32(max);
          break;
        case 'TLeafL':
          w.i64(0);
          w.i64(max);
          break;
        case 'TLeafO':
          w.bool(false);
          w.bool(max !== 0);
          break;
      }
    }
    w.end(m);
  });
}
