/**
 * The interpretation layer: what a branch's bytes mean (value type, values per entry,
 * jagged or not) and the conversion of basket bytes into native typed arrays. Values
 * are big-endian on disk; they are copied once into a fresh buffer and byte-swapped in
 * place by Buffer#swap16/32/64 (native code), then viewed as the typed array.
 */
import { UnsupportedRootFeatureError } from '../../errors.js';
import type { DecodedBasket } from './basket.js';
import type { RawBranch, RawLeaf } from './tree-objects.js';

export type NumericType = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64' | 'bool';
export type ValueType = NumericType | 'string';

export type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

export interface Interpretation {
  readonly type: ValueType;
  /** Bytes per value (strings: 0, variable). */
  readonly itemSize: number;
  /** Values per entry for fixed-size leaves (`x[3]` gives 3). */
  readonly multiplicity: number;
  /** Entries hold a variable number of values (counter leaf or TClonesArray member). */
  readonly jagged: boolean;
}

export interface NumericBranchData {
  readonly kind: 'numeric';
  readonly type: NumericType;
  readonly entryStart: number;
  readonly entryStop: number;
  /** All values of all entries in the range, native byte order. */
  readonly values: NumericArray;
  /**
   * For jagged branches: entries + 1 offsets counting items, where an item is
   * `multiplicity` consecutive values (one object of a TClonesArray, or one `x[n][3]`
   * row); item k's values start at `k * multiplicity`. Null for non-jagged branches.
   */
  readonly offsets: Uint32Array | null;
  /** Values per item: 1 for scalars, N for fixed-size arrays (`x[N]`). */
  readonly multiplicity: number;
}

export interface StringBranchData {
  readonly kind: 'string';
  readonly type: 'string';
  readonly entryStart: number;
  readonly entryStop: number;
  readonly values: string[];
  readonly offsets: null;
  readonly multiplicity: 1;
}

export type BranchData = NumericBranchData | StringBranchData;

const SIZES: Record<NumericType, number> = {
  i8: 1,
  u8: 1,
  bool: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  f32: 4,
  i64: 8,
  u64: 8,
  f64: 8,
};

/**
 * ROOT's TStreamerInfo basic type codes (EDataType), as used by TBranchElement. Left out
 * on purpose: 15 (TObject::fBits, which grows by 2 bytes for referenced objects), 9 and
 * 19 (Double32_t / Float16_t, packed), 7 (char*).
 */
const STREAMER_TYPES: Record<number, NumericType> = {
  1: 'i8',
  2: 'i16',
  3: 'i32',
  4: 'i64',
  5: 'f32',
  6: 'i32',
  8: 'f64',
  11: 'u8',
  12: 'u16',
  13: 'u32',
  14: 'u64',
  16: 'i64',
  17: 'u64',
  18: 'bool',
};
/** ROOT adds this to a basic type code for fixed-size arrays (`Float_t x[5]`). */
const OFFSET_L = 20;
/** TBranchElement fType of a split TClonesArray member and of a split STL-collection member. */
const CLONES_MEMBER = 31;
const STL_MEMBER = 41;
/** TBranchElement fType of the TClonesArray / STL collection branch itself: an Int_t count per entry. */
const CLONES_TOP = 3;
const STL_TOP = 4;

function leafNumericType(leaf: RawLeaf): NumericType | 'string' | undefined {
  const u = leaf.isUnsigned;
  switch (leaf.className) {
    case 'TLeafB':
      return u ? 'u8' : 'i8';
    case 'TLeafS':
      return u ? 'u16' : 'i16';
    case 'TLeafI':
      return u ? 'u32' : 'i32';
    case 'TLeafL':
    case 'TLeafG':
      return u ? 'u64' : 'i64';
    case 'TLeafF':
      return 'f32';
    case 'TLeafD':
      return 'f64';
    case 'TLeafO':
      return 'bool';
    case 'TLeafC':
      return 'string';
    default:
      return undefined;
  }
}

/** Decides how to read a branch, or says clearly why it cannot be read. */
export function interpret(uri: string, branch: RawBranch): Interpretation {
  const leaf = branch.leaves[0];
  const unsupported = (why: string): never => {
    throw new UnsupportedRootFeatureError(uri, `branch '${branch.name}': ${why}`);
  };
  if (!leaf) return unsupported('has no leaf (a container branch; read its sub-branches)');
  if (branch.leaves.length > 1) unsupported(`has ${branch.leaves.length} leaves (leaf lists are not supported)`);
  const element = branch.element;
  if (element) {
    if (element.type === CLONES_TOP || element.type === STL_TOP) {
      return { type: 'i32', itemSize: 4, multiplicity: 1, jagged: false };
    }
    let code = element.streamerType;
    let fixed = 1;
    if (code > OFFSET_L && code < OFFSET_L + 20) {
      code -= OFFSET_L;
      fixed = Math.max(1, leaf.len);
    }
    const type = STREAMER_TYPES[code];
    if (!type)
      return unsupported(
        `TBranchElement streamer type ${element.streamerType} (only basic numeric members are supported)`,
      );
    const jagged = element.type === CLONES_MEMBER || element.type === STL_MEMBER;
    if (!jagged && element.type !== 0 && element.type !== -1 && element.type !== 1 && element.type !== 2) {
      unsupported(`TBranchElement type ${element.type}`);
    }
    return { type, itemSize: SIZES[type], multiplicity: fixed, jagged };
  }
  const type = leafNumericType(leaf);
  if (!type) return unsupported(`leaf class ${leaf.className}`);
  if (type === 'string') return { type, itemSize: 0, multiplicity: 1, jagged: false };
  const jagged = leaf.leafCount !== null;
  return { type, itemSize: SIZES[type], multiplicity: Math.max(1, leaf.len), jagged };
}

/** The bytes of one basket that fall in the requested range, with its entry offsets. */
interface BasketSlice {
  readonly data: Uint8Array;
  readonly from: number;
  readonly to: number;
  readonly offsets: Int32Array | null;
  /** Entries [first, last) of the basket, relative to its first entry. */
  readonly first: number;
  readonly last: number;
}

/** Where a numeric branch's failure is reported: the file and the branch. */
interface BranchAt {
  readonly uri: string;
  readonly branchName: string;
}

/**
 * Assembles entries [entryStart, entryStop) of a numeric branch from its decoded baskets
 * (in entry order, covering the range). `countsOf` supplies per-entry value counts for
 * jagged baskets that carry no offset table.
 */
export function assembleNumeric(
  uri: string,
  branchName: string,
  interp: Interpretation,
  baskets: readonly DecodedBasket[],
  entryStart: number,
  entryStop: number,
  countsOf: ((basket: DecodedBasket) => Int32Array) | undefined,
): NumericBranchData {
  const at = { uri, branchName };
  const type = interp.type as NumericType;
  const size = interp.itemSize;
  const entryBytes = size * interp.multiplicity;
  const nEntries = entryStop - entryStart;
  const slices = baskets.flatMap((b) => sliceBasket(at, interp, b, entryStart, entryStop, countsOf));
  const total = slices.reduce((n, s) => n + s.to - s.from, 0);
  if (total % size !== 0) {
    throw new UnsupportedRootFeatureError(
      uri,
      `branch '${branchName}': ${total} bytes is not a whole number of ${size}-byte values`,
    );
  }
  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  let written = 0;
  for (const s of slices) {
    bytes.set(s.data.subarray(s.from, s.to), written);
    written += s.to - s.from;
  }
  swapInPlace(bytes, size);
  let offsets: Uint32Array | null = null;
  if (interp.jagged) offsets = itemOffsets(at, slices, nEntries, entryBytes, total);
  else if (total !== nEntries * entryBytes) {
    throw new UnsupportedRootFeatureError(
      uri,
      `branch '${branchName}': ${total} bytes for ${nEntries} entries of ${entryBytes} bytes`,
    );
  }
  return {
    kind: 'numeric',
    type,
    entryStart,
    entryStop,
    values: view(type, buffer),
    offsets,
    multiplicity: interp.multiplicity,
  };
}

/** The part of basket `b` inside [entryStart, entryStop); none when they do not overlap. */
function sliceBasket(
  { uri, branchName }: BranchAt,
  interp: Interpretation,
  b: DecodedBasket,
  entryStart: number,
  entryStop: number,
  countsOf: ((basket: DecodedBasket) => Int32Array) | undefined,
): BasketSlice[] {
  const entryBytes = interp.itemSize * interp.multiplicity;
  const first = Math.max(entryStart, b.entryStart) - b.entryStart;
  const last = Math.min(entryStop, b.entryStop) - b.entryStart;
  if (last <= first) return [];
  let offsets = b.offsets;
  if (interp.jagged && !offsets) {
    if (!countsOf)
      throw new UnsupportedRootFeatureError(
        uri,
        `branch '${branchName}': jagged data without entry offsets or a counter branch`,
      );
    const counts = countsOf(b);
    offsets = new Int32Array(counts.length + 1);
    for (let i = 0; i < counts.length; i++) offsets[i + 1] = offsets[i]! + counts[i]! * entryBytes;
    if (offsets[counts.length] !== b.data.length) {
      throw new UnsupportedRootFeatureError(
        uri,
        `branch '${branchName}': counter values do not match the basket's ${b.data.length} bytes`,
      );
    }
  }
  const from = offsets ? offsets[first]! : first * entryBytes;
  const to = offsets ? offsets[last]! : last * entryBytes;
  if (to > b.data.length) {
    throw new UnsupportedRootFeatureError(
      uri,
      `branch '${branchName}': entries need ${to} bytes, basket has ${b.data.length} (wrong interpretation?)`,
    );
  }
  return [{ data: b.data, from, to, offsets, first, last }];
}

/** A jagged branch's per-entry offsets in items, from its slices' byte offsets. */
function itemOffsets(
  { uri, branchName }: BranchAt,
  slices: readonly BasketSlice[],
  nEntries: number,
  entryBytes: number,
  total: number,
): Uint32Array {
  const offsets = new Uint32Array(nEntries + 1);
  let e = 0;
  for (const s of slices) {
    const o = s.offsets!;
    for (let i = s.first; i < s.last; i++) {
      const len = o[i + 1]! - o[i]!;
      if (len % entryBytes !== 0)
        throw new UnsupportedRootFeatureError(
          uri,
          `branch '${branchName}': entry of ${len} bytes is not a whole number of ${entryBytes}-byte items`,
        );
      offsets[e + 1] = offsets[e]! + len / entryBytes;
      e++;
    }
  }
  if (e !== nEntries)
    throw new UnsupportedRootFeatureError(uri, `branch '${branchName}': baskets cover ${e} of ${nEntries} entries`);
  if (offsets[nEntries]! * entryBytes !== total)
    throw new UnsupportedRootFeatureError(uri, `branch '${branchName}': offsets disagree with data size`);
  return offsets;
}

function swapInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1 || bytes.length === 0) return;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 2) buf.swap16();
  else if (size === 4) buf.swap32();
  else buf.swap64();
}

function view(type: NumericType, buffer: ArrayBuffer): NumericArray {
  switch (type) {
    case 'i8':
      return new Int8Array(buffer);
    case 'u8':
    case 'bool':
      return new Uint8Array(buffer);
    case 'i16':
      return new Int16Array(buffer);
    case 'u16':
      return new Uint16Array(buffer);
    case 'i32':
      return new Int32Array(buffer);
    case 'u32':
      return new Uint32Array(buffer);
    case 'i64':
      return new BigInt64Array(buffer);
    case 'u64':
      return new BigUint64Array(buffer);
    case 'f32':
      return new Float32Array(buffer);
    case 'f64':
      return new Float64Array(buffer);
  }
}

const latin1 = new TextDecoder('latin1');

/** TLeafC entries: a length byte (255 then a 4-byte length for long strings) and the characters. */
export function assembleStrings(
  uri: string,
  branchName: string,
  baskets: readonly DecodedBasket[],
  entryStart: number,
  entryStop: number,
): StringBranchData {
  const values: string[] = [];
  for (const b of baskets) {
    const first = Math.max(entryStart, b.entryStart) - b.entryStart;
    const last = Math.min(entryStop, b.entryStop) - b.entryStart;
    let pos = 0;
    for (let i = 0; i < last; i++) {
      if (b.offsets) pos = b.offsets[i]!;
      if (pos >= b.data.length)
        throw new UnsupportedRootFeatureError(uri, `branch '${branchName}': string entry ${i} lies past its basket`);
      let n = b.data[pos++]!;
      if (n === 255) {
        n = new DataView(b.data.buffer, b.data.byteOffset + pos, 4).getInt32(0);
        pos += 4;
      }
      if (i >= first) values.push(latin1.decode(b.data.subarray(pos, pos + n)));
      pos += n;
    }
  }
  return { kind: 'string', type: 'string', entryStart, entryStop, values, offsets: null, multiplicity: 1 };
}
