/**
 * The streamer layer: the file's TStreamerInfo records (class name, version, member list)
 * and a member reader driven by them. The hand-written deserialisers in objects.ts cover
 * the TTree/TBranch/TLeaf versions ROOT 5 and 6 write; files from other writers carry
 * other versions (Geant4's g4tools writes TTree v5 with `double fEntries` and TBranch v8
 * with 32-bit basket seeks), and those are read member by member from the file's own
 * description of the class. StreamerInfo is only fetched when such a version shows up.
 */
import type { Cursor } from './cursor.js';
import { UnsupportedRootFeatureError } from '../../errors.js';
import { readList, readObjArray, readObjectAny, readTNamed, readTObject, type RefTable } from './objects.js';

export interface StreamerElement {
  /** The element's class: TStreamerBase, TStreamerBasicType, TStreamerBasicPointer, ... */
  readonly kind: string;
  readonly name: string;
  /** ROOT's type code (EDataType plus offsets for arrays, pointers and objects). */
  readonly type: number;
  readonly typeName: string;
  readonly arrayLength: number;
  /** TStreamerBasicPointer: the member holding the array length. */
  readonly countName: string | undefined;
}

interface StreamerInfoRecord {
  readonly streamerInfo: true;
  readonly className: string;
  readonly version: number;
  readonly elements: readonly StreamerElement[];
}

/** Class descriptions of one file, by class name and version. */
export class StreamerInfos {
  private readonly byClass = new Map<string, Map<number, readonly StreamerElement[]>>();

  constructor(records: readonly unknown[]) {
    for (const r of records) {
      if (typeof r !== 'object' || r === null || !('streamerInfo' in r)) continue;
      const info = r as StreamerInfoRecord;
      let versions = this.byClass.get(info.className);
      if (!versions) this.byClass.set(info.className, (versions = new Map()));
      versions.set(info.version, info.elements);
    }
  }

  get(className: string, version: number): readonly StreamerElement[] | undefined {
    return this.byClass.get(className)?.get(version);
  }

  get size(): number {
    return this.byClass.size;
  }
}

/** Parses the TList stored under the file header's fSeekInfo key. */
export function parseStreamerInfos(c: Cursor, refs: RefTable): StreamerInfos {
  return new StreamerInfos(readList(c, refs));
}

function readElementBase(c: Cursor, kind: string): Omit<StreamerElement, 'countName'> {
  const header = c.versionHeader();
  const { name } = readTNamed(c);
  const type = c.i32();
  c.i32(); // fSize
  const arrayLength = c.i32();
  c.i32(); // fArrayDim
  if (header.version === 1) c.skip(4 * c.i32());
  else c.skip(4 * 5); // fMaxIndex
  const typeName = c.tstring();
  c.skipTo(header, 'TStreamerElement');
  return { kind, name, type, typeName, arrayLength };
}

function readElement(c: Cursor, kind: string): StreamerElement {
  const header = c.versionHeader();
  const base = readElementBase(c, kind);
  let countName: string | undefined;
  if (kind === 'TStreamerBasicPointer' || kind === 'TStreamerLoop') {
    c.i32(); // fCountVersion
    countName = c.tstring();
  }
  c.skipTo(header, kind);
  return { ...base, countName };
}

function readStreamerInfo(c: Cursor, refs: RefTable): StreamerInfoRecord {
  const header = c.versionHeader();
  const { name } = readTNamed(c);
  c.u32(); // fCheckSum
  const version = c.i32();
  const elements = readObjectAny(c, refs);
  c.skipTo(header, 'TStreamerInfo');
  const list = Array.isArray(elements)
    ? elements.filter((e): e is StreamerElement => typeof e === 'object' && e !== null && 'kind' in e)
    : [];
  return { streamerInfo: true, className: name, version, elements: list };
}

type Reader = (c: Cursor, refs: RefTable) => unknown;

export const STREAMER_READERS: Record<string, Reader> = { TStreamerInfo: readStreamerInfo };
for (const kind of [
  'TStreamerBase',
  'TStreamerBasicType',
  'TStreamerBasicPointer',
  'TStreamerLoop',
  'TStreamerObject',
  'TStreamerObjectAny',
  'TStreamerObjectPointer',
  'TStreamerObjectAnyPointer',
  'TStreamerString',
  'TStreamerSTL',
  'TStreamerSTLstring',
  'TStreamerArtificial',
]) {
  STREAMER_READERS[kind] = (c) => readElement(c, kind);
}

/** Bytes of each basic type code (EDataType); 9 (Double32_t without range) is stored as a float. */
const BASIC: Record<number, (c: Cursor) => number> = {
  1: (c) => (c.u8() << 24) >> 24,
  2: (c) => c.i16(),
  3: (c) => c.i32(),
  4: (c) => c.i64(),
  5: (c) => c.f32(),
  6: (c) => c.i32(),
  8: (c) => c.f64(),
  9: (c) => c.f32(),
  11: (c) => c.u8(),
  12: (c) => c.u16(),
  13: (c) => c.u32(),
  14: (c) => c.i64(),
  15: (c) => c.u32(),
  16: (c) => c.i64(),
  17: (c) => c.i64(),
  18: (c) => c.u8(),
};
const ARRAY_ITEM: Record<string, number> = {
  TArrayC: 1,
  TArrayS: 2,
  TArrayI: 4,
  TArrayF: 4,
  TArrayL: 8,
  TArrayL64: 8,
  TArrayD: 8,
};
const OFFSET_L = 20;
const OFFSET_P = 40;

/**
 * Reads the members of `className` v`version` as the file's StreamerInfo describes them,
 * into `out` (base classes' members included), stopping after member `stopAfter` when
 * given: the caller then jumps to the object's end by its byte count.
 * Returns true when it stopped early.
 */
export function readMembers(
  c: Cursor,
  refs: RefTable,
  className: string,
  version: number,
  out: Record<string, unknown>,
  stopAfter?: string,
): boolean {
  const infos = refs.streamers;
  if (!infos) throw new NeedStreamerInfo();
  const elements = infos.get(className, version);
  if (!elements)
    throw new UnsupportedRootFeatureError(
      c.uri,
      `${c.what}: ${className} v${version} is neither built in nor described in the file's StreamerInfo`,
    );
  for (const e of elements) {
    readMember(c, refs, e, out);
    if (e.name === stopAfter) return true;
  }
  return false;
}

function readMember(c: Cursor, refs: RefTable, e: StreamerElement, out: Record<string, unknown>): void {
  const unsupported = (): never => {
    throw new UnsupportedRootFeatureError(
      c.uri,
      `${c.what}: member ${e.name} (${e.kind}, type ${e.type}, ${e.typeName}) cannot be read from StreamerInfo`,
    );
  };
  switch (e.kind) {
    case 'TStreamerBase': {
      if (e.name === 'TObject') return readTObject(c);
      if (e.name === 'TNamed') {
        Object.assign(out, readTNamed(c));
        return;
      }
      const header = c.versionHeader();
      if (e.name.startsWith('TAtt')) return c.skipTo(header, e.name);
      readMembers(c, refs, e.name, header.version, out);
      return c.skipTo(header, e.name);
    }
    case 'TStreamerBasicType': {
      const fixed = e.type > OFFSET_L && e.type < OFFSET_P;
      const read = BASIC[fixed ? e.type - OFFSET_L : e.type] ?? unsupported();
      if (!fixed) {
        out[e.name] = read(c);
        return;
      }
      if (e.arrayLength < 0 || e.arrayLength > c.length - c.pos)
        c.fail(`${e.name}: fixed array of ${e.arrayLength} items runs past the buffer`);
      out[e.name] = Array.from({ length: e.arrayLength }, () => read(c));
      return;
    }
    case 'TStreamerBasicPointer': {
      const read = BASIC[e.type - OFFSET_P] ?? unsupported();
      const n = out[e.countName ?? ''];
      if (typeof n !== 'number' || n < 0 || n > c.length)
        c.fail(`${e.name}: count member ${e.countName} is ${String(n)}`);
      c.u8(); // "is array" marker
      out[e.name] = Array.from({ length: n }, () => read(c));
      return;
    }
    case 'TStreamerString':
      out[e.name] = c.tstring();
      return;
    case 'TStreamerObject':
    case 'TStreamerObjectAny': {
      if (e.typeName === 'TObjArray') out[e.name] = readObjArray(c, refs);
      else if (e.typeName === 'TList') out[e.name] = readList(c, refs);
      else if (ARRAY_ITEM[e.typeName] !== undefined) {
        const n = c.i32();
        if (n < 0) c.fail(`${e.name}: ${e.typeName} of ${n} items`);
        c.skip(n * ARRAY_ITEM[e.typeName]!);
      } else c.skipObject(e.typeName);
      return;
    }
    case 'TStreamerObjectPointer':
    case 'TStreamerObjectAnyPointer':
      out[e.name] = readObjectAny(c, refs);
      return;
    default:
      unsupported();
  }
}

/** Thrown when an object needs the file's StreamerInfo and the caller has not loaded it. */
export class NeedStreamerInfo extends Error {
  constructor() {
    super('StreamerInfo needed');
    this.name = 'NeedStreamerInfo';
  }
}
