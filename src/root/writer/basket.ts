/**
 * Per-branch basket buffering.
 *
 * Each branch accumulates big-endian values in its own buffer and writes a TBasket
 * key as soon as the buffer reaches the basket size, so memory stays bounded by
 * (number of branches x basket size) however many entries are filled. Variable-size
 * branches also record where each entry starts; ROOT appends that table after the
 * data (count = entries + 1, absolute offsets including the key length, then 0).
 */
import { endianness } from 'node:os';
import { ByteWriter } from './bytes.js';
import { keyHeaderLength, rootDatime, writeKeyHeader, FILE_BEGIN, type RootFileWriter } from './tfile.js';

export type LeafType = 'f32' | 'f64' | 'i32' | 'i64' | 'u32' | 'bool';

export interface LeafTypeInfo {
  readonly size: number;
  /** TLeaf subclass for plain branches. */
  readonly leafClass: 'TLeafF' | 'TLeafD' | 'TLeafI' | 'TLeafL' | 'TLeafO';
  /** Type letter in a TBranch leaf list ("x/F"). */
  readonly letter: string;
  /** ROOT basic-type code (TStreamerElement fType). */
  readonly rootType: number;
  /** C++ type name as streamer infos spell it. */
  readonly typeName: string;
  readonly unsigned: boolean;
}

export const LEAF_TYPES: Record<LeafType, LeafTypeInfo> = {
  f32: { size: 4, leafClass: 'TLeafF', letter: 'F', rootType: 5, typeName: 'float', unsigned: false },
  f64: { size: 8, leafClass: 'TLeafD', letter: 'D', rootType: 8, typeName: 'double', unsigned: false },
  i32: { size: 4, leafClass: 'TLeafI', letter: 'I', rootType: 3, typeName: 'int', unsigned: false },
  i64: { size: 8, leafClass: 'TLeafL', letter: 'L', rootType: 16, typeName: 'long long', unsigned: false },
  u32: { size: 4, leafClass: 'TLeafI', letter: 'i', rootType: 13, typeName: 'unsigned int', unsigned: true },
  bool: { size: 1, leafClass: 'TLeafO', letter: 'O', rootType: 18, typeName: 'bool', unsigned: false },
};

/** Bytes of TBasket fields that follow the TKey fields inside the key header. */
const BASKET_HEADER = 2 + 4 + 4 + 4 + 4 + 1;

export interface ColumnOptions {
  readonly branchName: string;
  readonly treeName: string;
  readonly type: LeafType;
  /** Whether each basket stores the per-entry offset table (variable-size entries). */
  readonly entryOffsets: boolean;
  readonly basketSize: number;
  /** fNevBufSize for variable-size baskets (ROOT's fEntryOffsetLen). */
  readonly entryOffsetLen: number;
}

type TypedColumn = Float32Array | Float64Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array;

function typedView(type: LeafType, buf: ArrayBufferLike): TypedColumn {
  switch (type) {
    case 'f32':
      return new Float32Array(buf);
    case 'f64':
      return new Float64Array(buf);
    case 'i32':
      return new Int32Array(buf);
    case 'u32':
      return new Uint32Array(buf);
    case 'i64':
      return new BigInt64Array(buf);
    case 'bool':
      return new Uint8Array(buf);
  }
}

/**
 * Typed-array class whose bytes can be copied straight into a column of each type
 * (none for bool: arbitrary bytes must still be normalised to 0/1).
 */
const SAME_LAYOUT: Partial<Record<LeafType, abstract new (...args: never[]) => unknown>> = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u32: Uint32Array,
  i64: BigInt64Array,
};

const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The values of one branch plus the bookkeeping TBranch needs about its baskets.
 *
 * Values are buffered in host byte order through a typed view (so typed-array
 * entries are a memcpy) and converted to ROOT's big-endian order once per basket
 * with Buffer.swap32/swap64, which is native code.
 */
export class Column {
  private data: Uint8Array;
  private typed: TypedColumn;
  private len = 0;
  private offsets: Int32Array;
  private inBasket = 0;
  private readonly size: number;
  readonly basketBytes: number[] = [];
  readonly basketEntry: number[] = [];
  readonly basketSeek: number[] = [];
  entries = 0;
  totBytes = 0;
  zipBytes = 0;
  /** Largest value appended as a scalar (a counter's fMaximum). */
  maxValue = 0;

  constructor(
    readonly options: ColumnOptions,
    private readonly file: RootFileWriter,
  ) {
    this.size = LEAF_TYPES[options.type].size;
    // Room for one basket plus slack; a multiple of 8 so every typed view fits.
    this.data = new Uint8Array(Math.ceil((options.basketSize + 64) / 8) * 8);
    this.typed = typedView(options.type, this.data.buffer);
    this.offsets = new Int32Array(options.entryOffsets ? 256 : 0);
  }

  private reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.data.length) return;
    let cap = this.data.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.data.subarray(0, this.len));
    this.data = next;
    this.typed = typedView(this.options.type, next.buffer);
  }

  /** Stores one value at element index `i` of the typed view. */
  private put(i: number, v: number | bigint | boolean): void {
    const t = this.options.type;
    if (t === 'i64') (this.typed as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
    else if (t === 'bool') this.typed[i] = v ? 1 : 0;
    else (this.typed as Float32Array)[i] = Number(v);
  }

  private startEntry(): void {
    if (!this.options.entryOffsets) return;
    if (this.inBasket >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    this.offsets[this.inBasket] = this.len;
  }

  /** Appends one entry holding a single value. */
  pushScalar(v: number | bigint | boolean): void {
    this.startEntry();
    this.reserve(this.size);
    this.put(this.len / this.size, v);
    this.len += this.size;
    if (typeof v === 'number' && v > this.maxValue) this.maxValue = v;
    this.endEntry();
  }

  /** Appends one entry holding `values.length` values (a jagged entry). */
  pushArray(values: ArrayLike<number | bigint | boolean>): void {
    this.startEntry();
    const n = values.length;
    this.reserve(n * this.size);
    const same = SAME_LAYOUT[this.options.type];
    if (same !== undefined && ArrayBuffer.isView(values) && values.constructor === same) {
      this.data.set(new Uint8Array(values.buffer, values.byteOffset, n * this.size), this.len);
    } else {
      const first = this.len / this.size;
      for (let i = 0; i < n; i++) this.put(first + i, values[i]!);
    }
    this.len += n * this.size;
    this.endEntry();
  }

  /** Appends one entry of `n` copies of `v` (TObject fUniqueID/fBits sub-branches). */
  pushRepeated(v: number, n: number): void {
    this.startEntry();
    this.reserve(n * this.size);
    const first = this.len / this.size;
    if (this.options.type === 'i64') (this.typed as BigInt64Array).fill(BigInt(v), first, first + n);
    else (this.typed as Float32Array).fill(v, first, first + n);
    this.len += n * this.size;
    this.endEntry();
  }

  private endEntry(): void {
    this.inBasket++;
    this.entries++;
    if (this.len >= this.options.basketSize) this.flush();
  }

  /**
   * Hands the buffered entries to the file as one TBasket key (no-op when empty).
   * With parallel compression the basket is placed at the end of the file only
   * when its compression completes, so its slot in the basket tables is filled
   * by the header callback.
   */
  flush(): void {
    if (this.inBasket === 0) return;
    const o = this.options;
    const big = this.file.nextKeyMayBeBig();
    const keylen = keyHeaderLength(big, 'TBasket', o.branchName, o.treeName) + BASKET_HEADER;
    const n = this.inBasket;
    const tableBytes = o.entryOffsets ? 4 * (n + 2) : 0;
    const raw = new Uint8Array(this.len + tableBytes);
    raw.set(this.data.subarray(0, this.len));
    if (HOST_LITTLE_ENDIAN && this.size > 1) {
      const values = Buffer.from(raw.buffer, 0, this.len);
      if (this.size === 4) values.swap32();
      else values.swap64();
    }
    if (o.entryOffsets) {
      const tv = new DataView(raw.buffer, this.len, tableBytes);
      tv.setInt32(0, n + 1);
      for (let i = 0; i < n; i++) tv.setInt32(4 * (i + 1), this.offsets[i]! + keylen);
      tv.setInt32(4 * (n + 1), 0);
    }
    const fLast = keylen + this.len;
    const slot = this.basketBytes.length;
    this.basketBytes.push(0);
    this.basketEntry.push(this.entries - n);
    this.basketSeek.push(0);
    this.totBytes += keylen + raw.length;
    this.file.writeCompressedKey(raw, keylen, big, (nbytes, seek) => {
      const w = new ByteWriter(keylen);
      writeKeyHeader(w, {
        nbytes,
        objlen: raw.length,
        datime: rootDatime(new Date()),
        keylen,
        cycle: 0,
        seek,
        seekPdir: FILE_BEGIN,
        className: 'TBasket',
        name: o.branchName,
        title: o.treeName,
        big,
      });
      w.i16(3);
      w.i32(Math.max(o.basketSize, fLast));
      w.i32(o.entryOffsets ? o.entryOffsetLen : this.size);
      w.i32(n);
      w.i32(fLast);
      w.u8(0);
      this.basketBytes[slot] = nbytes;
      this.basketSeek[slot] = seek;
      this.zipBytes += nbytes;
      return w.view8();
    });
    this.len = 0;
    this.inBasket = 0;
  }
}
