/**
 * TStreamerInfo records: the self-description a ROOT file carries for every class
 * whose objects it stores. jsroot cannot read a TTree without them; ROOT uses them
 * to read classes it has no dictionary for (our Delphes classes, in practice).
 *
 * The core ROOT classes are described at the versions this writer serialises
 * (TTree 20, TBranch 13, TBranchElement 10, TLeaf 2, ...), with the checksums ROOT
 * 6 computes for them. Classes defined here (the Delphes subset) get their checksum
 * from `classChecksum`, ROOT's TStreamerInfo::GetCheckSum algorithm, so the record
 * is consistent with exactly the members we write.
 */
import { ObjectWriter, TOBJECT_BITS } from './bytes.js';

/** ROOT basic-type codes (TVirtualStreamerInfo::EReadWrite). */
export const ROOT_TYPE = {
  char: 1,
  short: 2,
  int: 3,
  float: 5,
  double: 8,
  uchar: 11,
  uint: 13,
  bits: 15,
  long64: 16,
  bool: 18,
} as const;

export type StreamerElement =
  | { readonly kind: 'base'; readonly name: string; readonly version: number; readonly title: string }
  | {
      readonly kind: 'basic';
      readonly name: string;
      readonly typeName: string;
      readonly type: number;
      readonly size: number;
      readonly title: string;
      /** Fixed array length for `float x[5]`; absent for scalars. */
      readonly arrayLength?: number;
    }
  | { readonly kind: 'string'; readonly name: string; readonly title: string }
  | {
      readonly kind: 'object' | 'objectAny' | 'objectPointer';
      readonly name: string;
      readonly typeName: string;
      readonly size: number;
      readonly title: string;
    }
  | {
      readonly kind: 'basicPointer';
      readonly name: string;
      readonly typeName: string;
      readonly type: number;
      readonly size: number;
      readonly countName: string;
      readonly countClass: string;
      readonly countVersion: number;
      readonly title: string;
    };

export interface ClassInfo {
  readonly name: string;
  readonly version: number;
  /** ROOT's checksum; computed by `classChecksum` when omitted. */
  readonly checksum?: number;
  readonly elements: readonly StreamerElement[];
}

export const base = (name: string, version: number, title = ''): StreamerElement => ({
  kind: 'base',
  name,
  version,
  title,
});
const str = (name: string, title = ''): StreamerElement => ({ kind: 'string', name, title });
const BASIC: Record<string, { type: number; size: number }> = {
  short: { type: ROOT_TYPE.short, size: 2 },
  int: { type: ROOT_TYPE.int, size: 4 },
  'unsigned int': { type: ROOT_TYPE.uint, size: 4 },
  'unsigned char': { type: ROOT_TYPE.uchar, size: 1 },
  float: { type: ROOT_TYPE.float, size: 4 },
  double: { type: ROOT_TYPE.double, size: 8 },
  'long long': { type: ROOT_TYPE.long64, size: 8 },
  bool: { type: ROOT_TYPE.bool, size: 1 },
};
export const basic = (name: string, typeName: string, title = '', typeOverride?: number): StreamerElement => {
  const b = BASIC[typeName];
  if (!b) throw new Error(`no basic type ${typeName}`);
  return { kind: 'basic', name, typeName, type: typeOverride ?? b.type, size: b.size, title };
};
const obj = (
  kind: 'object' | 'objectAny' | 'objectPointer',
  name: string,
  typeName: string,
  size: number,
  title = '',
): StreamerElement => ({
  kind,
  name,
  typeName,
  size,
  title,
});
/** A `T* member; //[count]` array member: TStreamerBasicPointer, code 40 + the basic code. */
const counted = (
  name: string,
  typeName: 'int' | 'long long',
  countName: string,
  countClass: string,
  countVersion: number,
  title: string,
): StreamerElement => {
  const b = BASIC[typeName]!;
  return {
    kind: 'basicPointer',
    name,
    typeName: `${typeName}*`,
    type: 40 + b.type,
    size: b.size,
    countName,
    countClass,
    countVersion,
    title: `[${countName}] ${title}`,
  };
};

const I = (name: string, title = '') => basic(name, 'int', title);
const L64 = (name: string, title = '') => basic(name, 'long long', title);

/** Core ROOT classes, in the versions this writer emits, with ROOT 6 checksums. */
export const CORE_CLASSES: readonly ClassInfo[] = [
  {
    name: 'TObject',
    version: 1,
    checksum: 2417737773,
    elements: [
      basic('fUniqueID', 'unsigned int', 'object unique identifier'),
      basic('fBits', 'unsigned int', 'bit field status word', ROOT_TYPE.bits),
    ],
  },
  { name: 'TNamed', version: 1, checksum: 3753331260, elements: [base('TObject', 1), str('fName'), str('fTitle')] },
  {
    name: 'TCollection',
    version: 3,
    checksum: 1474546588,
    elements: [base('TObject', 1), str('fName'), basic('fSize', 'int', '', 6)],
  },
  { name: 'TSeqCollection', version: 0, checksum: 4234951622, elements: [base('TCollection', 3)] },
  { name: 'TList', version: 5, checksum: 1774568379, elements: [base('TSeqCollection', 0)] },
  {
    name: 'TObjArray',
    version: 3,
    checksum: 2845730130,
    elements: [base('TSeqCollection', 0), I('fLowerBound'), I('fLast')],
  },
  { name: 'TClonesArray', version: 4, checksum: 3066088035, elements: [base('TObjArray', 3)] },
  {
    name: 'TAttLine',
    version: 2,
    checksum: 2483504457,
    elements: [basic('fLineColor', 'short'), basic('fLineStyle', 'short'), basic('fLineWidth', 'short')],
  },
  {
    name: 'TAttFill',
    version: 2,
    checksum: 4292422290,
    elements: [basic('fFillColor', 'short'), basic('fFillStyle', 'short')],
  },
  {
    name: 'TAttMarker',
    version: 2,
    checksum: 689802220,
    elements: [basic('fMarkerColor', 'short'), basic('fMarkerStyle', 'short'), basic('fMarkerSize', 'float')],
  },
  { name: 'ROOT::TIOFeatures', version: 1, checksum: 446770960, elements: [basic('fIOBits', 'unsigned char')] },
  {
    name: 'TTree',
    version: 20,
    checksum: 1919213695,
    elements: [
      base('TNamed', 1),
      base('TAttLine', 2),
      base('TAttFill', 2),
      base('TAttMarker', 2),
      L64('fEntries'),
      L64('fTotBytes'),
      L64('fZipBytes'),
      L64('fSavedBytes'),
      L64('fFlushedBytes'),
      basic('fWeight', 'double'),
      I('fTimerInterval'),
      I('fScanField'),
      I('fUpdate'),
      I('fDefaultEntryOffsetLen'),
      basic('fNClusterRange', 'int', '', 6),
      L64('fMaxEntries'),
      L64('fMaxEntryLoop'),
      L64('fMaxVirtualSize'),
      L64('fAutoSave'),
      L64('fAutoFlush'),
      L64('fEstimate'),
      counted('fClusterRangeEnd', 'long long', 'fNClusterRange', 'TTree', 20, 'last entry of each cluster range'),
      counted('fClusterSize', 'long long', 'fNClusterRange', 'TTree', 20, 'entries per cluster in each range'),
      obj('objectAny', 'fIOFeatures', 'ROOT::TIOFeatures', 1),
      obj('object', 'fBranches', 'TObjArray', 64),
      obj('object', 'fLeaves', 'TObjArray', 64),
      obj('objectPointer', 'fAliases', 'TList*', 8),
      obj('objectAny', 'fIndexValues', 'TArrayD', 24),
      obj('objectAny', 'fIndex', 'TArrayI', 24),
      obj('objectPointer', 'fTreeIndex', 'TVirtualIndex*', 8),
      obj('objectPointer', 'fFriends', 'TList*', 8),
      obj('objectPointer', 'fUserInfo', 'TList*', 8),
      obj('objectPointer', 'fBranchRef', 'TBranchRef*', 8),
    ],
  },
  {
    name: 'TBranch',
    version: 13,
    checksum: 278366892,
    elements: [
      base('TNamed', 1),
      base('TAttFill', 2),
      I('fCompress'),
      I('fBasketSize'),
      I('fEntryOffsetLen'),
      I('fWriteBasket'),
      L64('fEntryNumber'),
      obj('objectAny', 'fIOFeatures', 'ROOT::TIOFeatures', 1),
      I('fOffset'),
      basic('fMaxBaskets', 'int', '', 6),
      I('fSplitLevel'),
      L64('fEntries'),
      L64('fFirstEntry'),
      L64('fTotBytes'),
      L64('fZipBytes'),
      obj('object', 'fBranches', 'TObjArray', 64, '-> sub-branches'),
      obj('object', 'fLeaves', 'TObjArray', 64, '-> leaves'),
      obj('object', 'fBaskets', 'TObjArray', 64, '-> baskets in memory'),
      counted('fBasketBytes', 'int', 'fMaxBaskets', 'TBranch', 13, 'basket sizes on file'),
      counted('fBasketEntry', 'long long', 'fMaxBaskets', 'TBranch', 13, 'first entry of each basket'),
      counted('fBasketSeek', 'long long', 'fMaxBaskets', 'TBranch', 13, 'basket addresses in the file'),
      str('fFileName'),
    ],
  },
  {
    name: 'TBranchElement',
    version: 10,
    checksum: 3880738403,
    elements: [
      base('TBranch', 13),
      str('fClassName'),
      str('fParentName'),
      str('fClonesName'),
      basic('fCheckSum', 'unsigned int'),
      basic('fClassVersion', 'short'),
      I('fID'),
      I('fType'),
      I('fStreamerType'),
      I('fMaximum'),
      obj('objectPointer', 'fBranchCount', 'TBranchElement*', 8),
      obj('objectPointer', 'fBranchCount2', 'TBranchElement*', 8),
    ],
  },
  {
    name: 'TLeaf',
    version: 2,
    checksum: 1830715730,
    elements: [
      base('TNamed', 1),
      I('fLen'),
      I('fLenType'),
      I('fOffset'),
      basic('fIsRange', 'bool'),
      basic('fIsUnsigned', 'bool'),
      obj('objectPointer', 'fLeafCount', 'TLeaf*', 8),
    ],
  },
  { name: 'TLeafElement', version: 1, checksum: 2689566867, elements: [base('TLeaf', 2), I('fID'), I('fType')] },
  { name: 'TLeafI', version: 1, checksum: 2120920601, elements: [base('TLeaf', 2), I('fMinimum'), I('fMaximum')] },
  { name: 'TLeafF', version: 1, elements: [base('TLeaf', 2), basic('fMinimum', 'float'), basic('fMaximum', 'float')] },
  {
    name: 'TLeafD',
    version: 1,
    elements: [base('TLeaf', 2), basic('fMinimum', 'double'), basic('fMaximum', 'double')],
  },
  { name: 'TLeafL', version: 1, elements: [base('TLeaf', 2), L64('fMinimum'), L64('fMaximum')] },
  { name: 'TLeafO', version: 1, elements: [base('TLeaf', 2), basic('fMinimum', 'bool'), basic('fMaximum', 'bool')] },
];

function mix(id: number, s: string): number {
  for (const c of Buffer.from(s, 'utf8')) id = (Math.imul(id, 3) + c) >>> 0;
  return id;
}
/** ROOT spells 64-bit integers with their typedef names when it hashes classes. */
const CHECKSUM_TYPE_NAME: Record<string, string> = { 'long long': 'Long64_t', 'unsigned long long': 'ULong64_t' };

/**
 * ROOT's class checksum (TStreamerInfo::GetCheckSum, latest variant): a base-3
 * rolling hash over the class name, base names and base checksums, then member
 * names, type names and fixed array dimensions. Verified against the checksums in
 * real Delphes files (Tower, SortableObject) by the tests.
 */
export function classChecksum(info: ClassInfo, lookup: (name: string) => ClassInfo | undefined): number {
  let id = mix(0, info.name);
  for (const e of info.elements) {
    if (e.kind !== 'base') continue;
    id = mix(id, e.name);
    const b = lookup(e.name);
    if (!b) throw new Error(`streamer info for ${info.name}: unknown base class ${e.name}`);
    id = (Math.imul(id, 3) + checksumOf(b, lookup)) >>> 0;
  }
  for (const e of info.elements) {
    if (e.kind === 'base') continue;
    id = mix(id, e.name);
    const typeName = e.kind === 'string' ? 'TString' : e.typeName;
    id = mix(id, CHECKSUM_TYPE_NAME[typeName] ?? typeName);
    if (e.kind === 'basic' && e.arrayLength) id = (Math.imul(id, 3) + e.arrayLength) >>> 0;
    const left = e.title.indexOf('[');
    const right = left >= 0 ? e.title.indexOf(']', left) : -1;
    if (right > left) id = mix(id, e.title.slice(left + 1, right));
  }
  return id >>> 0;
}

export function checksumOf(info: ClassInfo, lookup: (name: string) => ClassInfo | undefined): number {
  return info.checksum ?? classChecksum(info, lookup);
}

/** A set of class descriptions to be written as the file's StreamerInfo list. */
export class StreamerRegistry {
  private readonly classes = new Map<string, ClassInfo>();

  constructor(initial: readonly ClassInfo[] = CORE_CLASSES) {
    for (const c of initial) this.add(c);
  }

  add(info: ClassInfo): void {
    this.classes.set(info.name, info);
  }

  get(name: string): ClassInfo | undefined {
    return this.classes.get(name);
  }

  require(name: string): ClassInfo {
    const c = this.classes.get(name);
    if (!c) throw new Error(`no streamer info registered for class ${name}`);
    return c;
  }

  checksum(name: string): number {
    return checksumOf(this.require(name), (n) => this.get(n));
  }

  /** Index of a member in its class's element list: TBranchElement.fID. */
  elementIndex(className: string, member: string): number {
    const i = this.require(className).elements.findIndex((e) => e.name === member);
    if (i < 0) throw new Error(`class ${className} has no member ${member}`);
    return i;
  }

  /**
   * Serialises the TList of TStreamerInfo for `names` and every class they depend
   * on (bases, members), dependencies first as ROOT does.
   */
  serialize(names: readonly string[], origin: number): Uint8Array {
    const ordered: ClassInfo[] = [];
    const visit = (n: string): void => {
      const c = this.get(n);
      if (!c || ordered.includes(c)) return;
      for (const e of c.elements) {
        if (e.kind === 'base') visit(e.name);
        else if (e.kind === 'object' || e.kind === 'objectAny') visit(e.typeName);
      }
      ordered.push(c);
    };
    for (const n of names) visit(n);

    const w = new ObjectWriter(origin, 16384);
    const list = w.begin(5);
    w.tobject(TOBJECT_BITS);
    w.tstring('');
    w.i32(ordered.length);
    for (const c of ordered) {
      w.objectAny(c, 'TStreamerInfo', () => this.writeInfo(w, c));
      w.tstring(''); // per-entry option string of TList
    }
    w.end(list);
    return w.toBytes();
  }

  private writeInfo(w: ObjectWriter, c: ClassInfo): void {
    const m = w.begin(9);
    w.tnamed(c.name, '', TOBJECT_BITS);
    w.u32(this.checksum(c.name));
    w.i32(c.version);
    w.objectAny(c.elements, 'TObjArray', () => {
      const a = w.begin(3);
      w.tobject(TOBJECT_BITS);
      w.tstring('');
      w.i32(c.elements.length);
      w.i32(0); // fLowerBound
      for (const e of c.elements) this.writeElement(w, e);
      w.end(a);
    });
    w.end(m);
  }

  private writeElement(w: ObjectWriter, e: StreamerElement): void {
    const common = (type: number, size: number, typeName: string, arrayLength = 0, baseChecksum = 0): void => {
      const m = w.begin(4);
      w.tnamed(e.name, e.title, TOBJECT_BITS);
      w.i32(type);
      w.i32(size);
      w.i32(arrayLength);
      w.i32(arrayLength ? 1 : 0);
      // fMaxIndex[5]: array dimensions; ROOT keeps a base's checksum in slot 1.
      w.i32(arrayLength);
      w.u32(baseChecksum);
      w.i32(0);
      w.i32(0);
      w.i32(0);
      w.tstring(typeName);
      w.end(m);
    };
    switch (e.kind) {
      case 'base':
        w.objectAny(e, 'TStreamerBase', () => {
          const m = w.begin(3);
          const type = e.name === 'TObject' ? 66 : e.name === 'TNamed' ? 67 : 0;
          common(type, 0, 'BASE', 0, this.checksum(e.name));
          w.i32(e.version);
          w.end(m);
        });
        return;
      case 'basic':
        w.objectAny(e, 'TStreamerBasicType', () => {
          const m = w.begin(2);
          const n = e.arrayLength ?? 0;
          common(e.type, e.size * Math.max(1, n), e.typeName, n);
          w.end(m);
        });
        return;
      case 'string':
        w.objectAny(e, 'TStreamerString', () => {
          const m = w.begin(2);
          common(65, 24, 'TString');
          w.end(m);
        });
        return;
      case 'object':
      case 'objectAny':
      case 'objectPointer': {
        const cls =
          e.kind === 'object'
            ? 'TStreamerObject'
            : e.kind === 'objectAny'
              ? 'TStreamerObjectAny'
              : 'TStreamerObjectPointer';
        const code = e.kind === 'object' ? 61 : e.kind === 'objectAny' ? 62 : 64;
        w.objectAny(e, cls, () => {
          const m = w.begin(2);
          common(code, e.size, e.typeName);
          w.end(m);
        });
        return;
      }
      case 'basicPointer':
        w.objectAny(e, 'TStreamerBasicPointer', () => {
          const m = w.begin(2);
          common(e.type, e.size, e.typeName);
          w.i32(e.countVersion);
          w.tstring(e.countName);
          w.tstring(e.countClass);
          w.end(m);
        });
        return;
    }
  }
}
