/**
 * ROOT's object layer: TBufferFile::ReadObjectAny with its back-reference table, and the
 * base classes every stored object builds on (TObject, TNamed, TObjArray, TList). The
 * classes that describe a TTree are read in tree-objects.ts. Each reads only the members the reader needs,
 * dispatches on the class version where the layout changed, and then jumps to the end
 * recorded in the object's byte count, so members added in later versions are skipped
 * rather than misread. Classes it does not know are skipped by their byte counts.
 *
 * Other class versions are read member by member from the file's StreamerInfo
 * (streamers.ts), which the caller supplies on request (NeedStreamerInfo).
 *
 * Object references (ROOT writes a repeated object or class as a back-reference to the
 * buffer position where it first appeared) are resolved through a per-buffer table, as
 * TBufferFile::ReadObjectAny does.
 */
import type { Cursor } from './cursor.js';
import { STREAMER_READERS, type StreamerInfos } from './streamers.js';
import { TREE_READERS } from './tree-objects.js';

const BYTE_COUNT_MASK = 0x40000000;
const CLASS_MASK = 0x80000000;
const NEW_CLASS_TAG = 0xffffffff;
/** ROOT offsets reference positions by this much so that 0 and 1 stay free for null/self. */
const MAP_OFFSET = 2;
/** TObject::fBits flag: the object has a TProcessID reference after its bits. */
const IS_REFERENCED = 1 << 4;

/** What a skipped, unknown class leaves in a collection. */
export interface OpaqueObject {
  readonly opaqueClass: string;
}

export type Reader = (c: Cursor, refs: RefTable) => unknown;

/**
 * Per-buffer reading context: the back-reference table keyed by ROOT buffer position,
 * plus the file's StreamerInfo when loaded. `preferStreamers` reads every class through
 * StreamerInfo even where a built-in deserialiser exists (tests compare the two).
 */
export class RefTable {
  private readonly map = new Map<number, unknown>();
  constructor(
    readonly streamers?: StreamerInfos,
    readonly preferStreamers = false,
  ) {}
  set(pos: number, value: unknown): void {
    this.map.set(pos, value);
  }
  get(pos: number): unknown {
    return this.map.get(pos);
  }
  has(pos: number): boolean {
    return this.map.has(pos);
  }
}

class ClassRef {
  constructor(readonly name: string) {}
}

const READERS: Record<string, Reader> = {
  TObjArray: (c, refs) => readObjArray(c, refs),
  TList: (c, refs) => readList(c, refs),
};

/**
 * TBufferFile::ReadObjectAny: a class-tagged pointer that is null, a back-reference, or
 * a (possibly new) class tag followed by the object.
 */
export function readObjectAny(c: Cursor, refs: RefTable): unknown {
  const beg = c.rootPos;
  const begLocal = c.pos;
  let count = c.u32();
  let tag: number;
  let start = 0;
  let counted = false;
  if ((count & BYTE_COUNT_MASK) === 0 || count === NEW_CLASS_TAG) {
    tag = count;
    count = 0;
  } else {
    counted = true;
    count = (count & ~BYTE_COUNT_MASK) >>> 0;
    start = c.rootPos;
    tag = c.u32();
  }
  if ((tag & CLASS_MASK) === 0) {
    if (tag === 0 || tag === 1) return null;
    if (refs.has(tag)) return refs.get(tag);
    // A reference to something not (yet) read: skip it as ROOT would.
    c.seek(begLocal + count + 4);
    return null;
  }
  let className: string;
  if (tag === NEW_CLASS_TAG) {
    className = c.cstring();
    if (counted) refs.set(start + MAP_OFFSET, new ClassRef(className));
  } else {
    const ref = refs.get((tag & ~CLASS_MASK) >>> 0);
    if (!(ref instanceof ClassRef)) c.fail(`object tag ${tag & ~CLASS_MASK} refers to no known class`);
    className = ref.name;
  }
  const reader = READERS[className] ?? TREE_READERS[className] ?? STREAMER_READERS[className];
  let object: unknown;
  if (reader) {
    object = reader(c, refs);
    if (counted) {
      const end = begLocal + 4 + count;
      if (c.pos > end) c.fail(`${className} read past its byte count`);
      c.seek(end);
    }
  } else {
    if (!counted) c.fail(`cannot skip an object of unknown class ${className} without a byte count`);
    c.seek(begLocal + 4 + count);
    object = { opaqueClass: className } satisfies OpaqueObject;
  }
  if (counted) refs.set(beg + MAP_OFFSET, object);
  return object;
}

export function readTObject(c: Cursor): void {
  c.versionHeader();
  c.u32(); // fUniqueID
  const bits = c.u32();
  if ((bits & IS_REFERENCED) !== 0) c.u16();
}

export function readTNamed(c: Cursor): { name: string; title: string } {
  const header = c.versionHeader();
  readTObject(c);
  const name = c.tstring();
  const title = c.tstring();
  if (header.end !== undefined) c.skipTo(header, 'TNamed');
  return { name, title };
}

export function readObjArray(c: Cursor, refs: RefTable): unknown[] {
  const header = c.versionHeader();
  if (header.version > 2) readTObject(c);
  if (header.version > 1) c.tstring();
  const n = c.i32();
  if (n < 0 || n > c.length) c.fail(`TObjArray claims ${n} entries`);
  c.i32(); // lower bound
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) items.push(readObjectAny(c, refs));
  if (header.end !== undefined) c.skipTo(header, 'TObjArray');
  return items;
}

export function readList(c: Cursor, refs: RefTable): unknown[] {
  const header = c.versionHeader();
  if (header.version > 3) readTObject(c);
  c.tstring();
  const n = c.i32();
  if (n < 0 || n > c.length) c.fail(`TList claims ${n} entries`);
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) {
    items.push(readObjectAny(c, refs));
    c.skip(c.u8()); // per-item option string
  }
  if (header.end !== undefined) c.skipTo(header, 'TList');
  return items;
}
