/**
 * Big-endian reads over one in-memory buffer, the way ROOT serialises everything.
 * Every read is bounds-checked and a short buffer becomes a RootFormatError naming the
 * file and what was being read, never a raw RangeError from a DataView.
 */
import { RootFormatError } from '../../errors.js';

/** ROOT's marker bit on a 4-byte byte count ("this object is N bytes long"). */
const BYTE_COUNT_MASK = 0x40000000;

export interface VersionHeader {
  readonly version: number;
  /** Absolute cursor position just past this object, when it carried a byte count. */
  readonly end: number | undefined;
}

export class Cursor {
  private readonly view: DataView;
  pos: number;

  /**
   * @param displacement added to buffer positions to get the positions ROOT used when
   *   writing (object references are such positions: the key length for objects read
   *   from a key, since ROOT's buffer started with the key header).
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly uri: string,
    readonly what: string,
    pos = 0,
    readonly displacement = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  /** Position as ROOT numbered it when the buffer was written (for object references). */
  get rootPos(): number {
    return this.pos + this.displacement;
  }

  fail(reason: string): never {
    throw new RootFormatError(this.uri, `${this.what}: ${reason}`);
  }

  private need(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.bytes.byteLength) {
      this.fail(`needs ${n} bytes at offset ${at} but the buffer has ${this.bytes.byteLength} (truncated or corrupt)`);
    }
    this.pos = at + n;
    return at;
  }

  skip(n: number): void {
    this.need(n);
  }

  seek(pos: number): void {
    if (pos < 0 || pos > this.bytes.byteLength)
      this.fail(`jump to offset ${pos} outside a ${this.bytes.byteLength}-byte buffer`);
    this.pos = pos;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  i16(): number {
    return this.view.getInt16(this.need(2));
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  i32(): number {
    return this.view.getInt32(this.need(4));
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  f32(): number {
    return this.view.getFloat32(this.need(4));
  }
  f64(): number {
    return this.view.getFloat64(this.need(8));
  }
  /** 64-bit integer as a JS number; ROOT seeks and counts fit in 2^53 for any real file. */
  i64(): number {
    const at = this.need(8);
    const value = this.view.getBigInt64(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      this.fail(`64-bit value ${value} at offset ${at} is beyond 2^53`);
    }
    return Number(value);
  }

  /** A sub-view of the next n bytes (no copy). */
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  /** ROOT TString: one length byte, or 255 followed by a 4-byte length. */
  tstring(): string {
    let n = this.u8();
    if (n === 255) n = this.i32();
    return latin1(this.take(n));
  }

  /** Null-terminated C string (class names in object tags). */
  cstring(): string {
    const start = this.pos;
    const end = this.bytes.indexOf(0, start);
    if (end < 0) this.fail(`unterminated class name at offset ${start}`);
    this.pos = end + 1;
    return latin1(this.bytes.subarray(start, end));
  }

  /**
   * The version header that starts every streamed object: an optional 4-byte byte count
   * (high bit 0x40000000 set) followed by a 2-byte class version.
   */
  versionHeader(): VersionHeader {
    const start = this.pos;
    const first = this.u32();
    if ((first & BYTE_COUNT_MASK) !== 0) {
      const count = first & ~BYTE_COUNT_MASK;
      const end = start + 4 + count;
      if (end > this.bytes.byteLength) this.fail(`object at offset ${start} claims ${count} bytes past the buffer end`);
      return { version: this.u16(), end };
    }
    this.pos = start;
    return { version: this.u16(), end: undefined };
  }

  /** Moves to the end recorded in a version header; the fallback for parts not needed. */
  skipTo(header: VersionHeader, className: string): void {
    if (header.end === undefined) this.fail(`${className} v${header.version} has no byte count to skip by`);
    if (this.pos > header.end) this.fail(`${className} v${header.version} read past its own byte count`);
    this.pos = header.end;
  }

  /** Skips a whole object that starts with a byte-counted version header. */
  skipObject(className: string): void {
    this.skipTo(this.versionHeader(), className);
  }
}

const decoder = new TextDecoder('latin1');
function latin1(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
