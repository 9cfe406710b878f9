/**
 * Big-endian byte buffer plus the object bookkeeping of ROOT's TBufferFile.
 *
 * ROOT serialises everything big-endian. Objects carry a leading "byte count"
 * (length | 0x40000000) so readers can skip what they do not understand, and a
 * pointer to an object or class already written in the same buffer is replaced by
 * a back-reference: the buffer position of its first occurrence plus kMapOffset.
 * Those positions count from the start of the key, header included, which is why
 * the writer takes an `origin` (the key length) at construction.
 */

const BYTECOUNT_MASK = 0x40000000;
const CLASS_MASK = 0x80000000;
const NEW_CLASS_TAG = 0xffffffff;
const MAP_OFFSET = 2;

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes, doubling so appends stay amortised O(1). */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }
  i16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }
  i64(v: number | bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt(v));
    this.pos += 8;
  }
  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** ROOT TString: one length byte, or 255 followed by a 32-bit length. */
  tstring(s: string): void {
    const b = Buffer.from(s, 'utf8');
    if (b.length < 255) this.u8(b.length);
    else {
      this.u8(255);
      this.i32(b.length);
    }
    this.bytes(b);
  }
  /** NUL-terminated C string, as used for class names in class tags. */
  cstring(s: string): void {
    this.bytes(Buffer.from(s, 'utf8'));
    this.u8(0);
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0);
  }
  patchI32(at: number, v: number): void {
    this.view.setInt32(at, v);
  }
  patchI16(at: number, v: number): void {
    this.view.setInt16(at, v);
  }
  /** A view of the bytes written so far (valid until the next append). */
  view8(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Size of a TString on disk. */
export function tstringSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  return (n < 255 ? 1 : 5) + n;
}

/** Marks the start of a versioned record whose byte count is patched at its end. */
export interface Mark {
  readonly at: number;
}

/**
 * TBufferFile-style writer for one key's payload: versioned records with byte
 * counts, class tags and object back-references.
 */
export class ObjectWriter extends ByteWriter {
  private readonly classTags = new Map<string, number>();
  private readonly objectTags = new Map<object, number>();

  /** @param origin buffer position of payload byte 0 in ROOT's numbering (= key length). */
  constructor(
    readonly origin: number,
    initialCapacity = 4096,
  ) {
    super(initialCapacity);
  }

  /** Opens `bytecount + version`; close with `end`. */
  begin(version: number): Mark {
    const at = this.pos;
    this.u32(0);
    this.i16(version);
    return { at };
  }

  /** Opens `bytecount + 0 + checksum`, ROOT's header for foreign classes at version <= 1. */
  beginChecksummed(checksum: number): Mark {
    const at = this.pos;
    this.u32(0);
    this.u16(0);
    this.u32(checksum);
    return { at };
  }

  end(mark: Mark): void {
    const count = this.pos - mark.at - 4;
    if (count >= BYTECOUNT_MASK) throw new RangeError(`object of ${count} bytes exceeds ROOT's byte-count limit`);
    this.patchU32(mark.at, count | BYTECOUNT_MASK);
  }

  /**
   * Writes a pointer to `obj` the way TBufferFile::WriteObjectAny does: null tag,
   * back-reference to an object already in this buffer, or byte count + class tag
   * + the object's streamer output (`body`).
   */
  objectAny(obj: object | null, className: string, body: () => void): void {
    if (obj === null) {
      this.u32(0);
      return;
    }
    const seen = this.objectTags.get(obj);
    if (seen !== undefined) {
      this.u32(seen);
      return;
    }
    const at = this.pos;
    this.u32(0);
    const classTag = this.classTags.get(className);
    if (classTag !== undefined) this.u32(classTag | CLASS_MASK);
    else {
      this.classTags.set(className, this.origin + this.pos + MAP_OFFSET);
      this.u32(NEW_CLASS_TAG);
      this.cstring(className);
    }
    this.objectTags.set(obj, this.origin + at + MAP_OFFSET);
    body();
    this.end({ at });
  }

  /** TObject's own streamer (version 1, no TProcessID reference). */
  tobject(bits: number, uniqueId = 0): void {
    this.i16(1);
    this.u32(uniqueId);
    this.u32(bits);
  }

  /** TNamed (version 1): TObject + name + title. */
  tnamed(name: string, title: string, bits: number): void {
    const m = this.begin(1);
    this.tobject(bits);
    this.tstring(name);
    this.tstring(title);
    this.end(m);
  }
}

/** TObject status bits ROOT sets on objects it writes (kNotDeleted | kIsOnHeap). */
export const TOBJECT_BITS = 0x03000000;
