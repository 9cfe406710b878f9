/**
 * TFile layout: header, top directory, keys, StreamerInfo, keys list, free segments.
 *
 * Records are appended as they are produced (baskets while entries stream in, the
 * TTree and bookkeeping records at close); the header at byte 0 and the top
 * directory record at byte 100 are written last, once their seek pointers are known.
 *
 * 32 vs 64 bits: ROOT switches to 64-bit seek pointers past kStartBigFile
 * (2,000,000,000). A key whose own position is past it is written as version
 * 1000 + 4 with 64-bit fSeekKey/fSeekPdir; the file header (version + 1000000,
 * fUnits 8) and the directory record (version 1005) go 64-bit when the file ends
 * past it. TBranch.fBasketSeek is 64-bit in every TBranch version we write.
 */
import { randomBytes } from 'node:crypto';
import { ByteWriter, tstringSize } from './bytes.js';
import {
  compressionCode,
  rootCompress,
  rootCompressAsync,
  validateCompression,
  type CompressionSettings,
  DEFAULT_COMPRESSION,
} from './compression.js';
import type { PositionalSink } from './sink.js';
import type { StreamerRegistry } from './streamers.js';

export const K_START_BIG_FILE = 2_000_000_000;
export const FILE_BEGIN = 100;
/** ROOT version this writer claims to be (6.30/00); only its magnitude matters to readers. */
const ROOT_VERSION = 63000;
/** TDirectory record: 60 bytes in both layouts (the 32-bit one is padded so it can grow). */
const DIRECTORY_RECORD = 60;
/** Bytes in flight to the sink before producers are made to wait. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

export interface KeyRecord {
  readonly className: string;
  readonly name: string;
  readonly title: string;
  readonly cycle: number;
  readonly seek: number;
  readonly nbytes: number;
  readonly objlen: number;
  readonly keylen: number;
  readonly datime: number;
}

export interface FileWriterOptions {
  /** Name stored in the file (ROOT stores the path it was created with). */
  readonly fileName?: string;
  readonly title?: string;
  readonly compression?: CompressionSettings;
  /**
   * Start writing data this many bytes into the file, leaving a hole recorded as a
   * free segment. Only for exercising the 64-bit layout without writing gigabytes
   * (the hole is sparse on disk); leave unset in production.
   */
  readonly leadingGapBytes?: number;
  /**
   * Compress baskets on libuv's thread pool while the caller keeps filling
   * (default false). It costs more CPU than compressing inline and only pays off
   * in wall-clock time when a core is idle; on the shared 2-core machine it was
   * slower (bench/root-write.ts, docs/root-writer.md).
   */
  readonly parallelCompression?: boolean;
}

/** ROOT TDatime packing: years since 1995 in the top 6 bits, then month, day, h, m, s. */
export function rootDatime(d: Date): number {
  return (
    (((d.getFullYear() - 1995) << 26) |
      ((d.getMonth() + 1) << 22) |
      (d.getDate() << 17) |
      (d.getHours() << 12) |
      (d.getMinutes() << 6) |
      d.getSeconds()) >>>
    0
  );
}

export const isBigSeek = (seek: number): boolean => seek > K_START_BIG_FILE;

/** Length of a key header (TKey fields + class, name, title strings). */
export function keyHeaderLength(big: boolean, className: string, name: string, title: string): number {
  return (big ? 34 : 26) + tstringSize(className) + tstringSize(name) + tstringSize(title);
}

export interface KeyHeader {
  readonly nbytes: number;
  readonly objlen: number;
  readonly datime: number;
  readonly keylen: number;
  readonly cycle: number;
  readonly seek: number;
  readonly seekPdir: number;
  readonly className: string;
  readonly name: string;
  readonly title: string;
  /**
   * Force the 64-bit layout even for a small seek (allowed: ROOT 6.30 writes all
   * keys that way). Needed when the key length is fixed before the seek is known.
   */
  readonly big?: boolean;
}

export function writeKeyHeader(w: ByteWriter, k: KeyHeader): void {
  const big = k.big === true || isBigSeek(k.seek) || isBigSeek(k.seekPdir);
  w.i32(k.nbytes);
  w.i16(big ? 1004 : 4);
  w.i32(k.objlen);
  w.u32(k.datime);
  w.i16(k.keylen);
  w.i16(k.cycle);
  if (big) {
    w.i64(k.seek);
    w.i64(k.seekPdir);
  } else {
    w.i32(k.seek);
    w.i32(k.seekPdir);
  }
  w.tstring(k.className);
  w.tstring(k.name);
  w.tstring(k.title);
}

export class RootFileWriter {
  readonly compression: CompressionSettings;
  readonly fileName: string;
  readonly title: string;
  readonly parallelCompression: boolean;
  private end: number;
  private readonly keys: KeyRecord[] = [];
  private readonly free: Array<[number, number]> = [];
  private readonly uuid = randomBytes(16);
  private readonly created = rootDatime(new Date());
  private pending = new Set<Promise<void>>();
  private pendingBytes = 0;
  private waiters: Array<() => void> = [];
  private failure: unknown = null;
  private closed = false;

  constructor(
    readonly sink: PositionalSink,
    options: FileWriterOptions = {},
  ) {
    this.compression = validateCompression(options.compression ?? DEFAULT_COMPRESSION);
    this.fileName = options.fileName ?? sink.name;
    this.title = options.title ?? '';
    this.parallelCompression = options.parallelCompression ?? false;
    const topKeyLength = keyHeaderLength(false, 'TFile', this.fileName, this.title);
    this.end = FILE_BEGIN + this.nbytesName(topKeyLength) + DIRECTORY_RECORD;
    const gap = options.leadingGapBytes ?? 0;
    if (gap < 0 || !Number.isSafeInteger(gap))
      throw new Error(`${sink.name}: leadingGapBytes must be a non-negative integer`);
    if (gap > 0) {
      this.free.push([this.end, this.end + gap - 1]);
      this.end += gap;
    }
  }

  private nbytesName(keylen: number): number {
    return keylen + tstringSize(this.fileName) + tstringSize(this.title);
  }

  /** Current end of file: where the next record goes. */
  get position(): number {
    return this.end;
  }

  /** Reserves `n` bytes at the end of the file and returns their offset. */
  allocate(n: number): number {
    const at = this.end;
    this.end += n;
    return at;
  }

  /** Queues a positional write; rejects later calls if it fails. */
  write(data: Uint8Array, position: number): void {
    this.throwIfFailed();
    this.pendingBytes += data.length;
    const p: Promise<void> = this.sink.write(data, position).then(
      () => {
        this.pendingBytes -= data.length;
        this.pending.delete(p);
        this.settled();
      },
      (err: unknown) => {
        this.failure ??= err;
        this.pendingBytes -= data.length;
        this.pending.delete(p);
        this.settled();
      },
    );
    this.pending.add(p);
  }

  /** True when producers should await `relieve()` to keep memory bounded. */
  get congested(): boolean {
    return this.pendingBytes > MAX_PENDING_BYTES;
  }

  /** Waits until the bytes being compressed or written fall below the limit. */
  async relieve(): Promise<void> {
    while (this.pendingBytes > MAX_PENDING_BYTES && this.pending.size > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.throwIfFailed();
  }

  /** Wakes `relieve()` callers; one completion is enough to re-check the limit. */
  private settled(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.throwIfFailed();
  }

  /**
   * Whether a key whose length is fixed now but whose seek is only known after
   * compression must use the 64-bit layout: true when everything in flight could
   * push the end of the file past kStartBigFile.
   */
  nextKeyMayBeBig(): boolean {
    return isBigSeek(this.end + this.pendingBytes + MAX_PENDING_BYTES);
  }

  /**
   * Compresses `raw` on the thread pool, then appends a key of `keylen` header
   * bytes (from `header(nbytes, seek)`) plus the payload at the end of the file.
   * Records land in completion order; each caller learns its seek through `header`.
   */
  writeCompressedKey(
    raw: Uint8Array,
    keylen: number,
    big: boolean,
    header: (nbytes: number, seek: number) => Uint8Array,
  ): void {
    this.throwIfFailed();
    if (!this.parallelCompression) {
      this.write(...this.place(rootCompress(raw, this.compression), keylen, big, header));
      return;
    }
    this.pendingBytes += raw.length;
    const p: Promise<void> = rootCompressAsync(raw, this.compression)
      .then((payload) => this.sink.write(...this.place(payload, keylen, big, header)))
      .then(
        () => {
          this.pendingBytes -= raw.length;
          this.pending.delete(p);
          this.settled();
        },
        (err: unknown) => {
          this.failure ??= err;
          this.pendingBytes -= raw.length;
          this.pending.delete(p);
          this.settled();
        },
      );
    this.pending.add(p);
  }

  /** Allocates a key of header + payload at the end of the file; returns [record, seek]. */
  private place(
    payload: Uint8Array,
    keylen: number,
    big: boolean,
    header: (nbytes: number, seek: number) => Uint8Array,
  ): [Uint8Array, number] {
    const nbytes = keylen + payload.length;
    const seek = this.allocate(nbytes);
    if (!big && isBigSeek(seek)) throw new Error(`internal: 32-bit key placed past kStartBigFile at ${seek}`);
    const record = new Uint8Array(nbytes);
    const h = header(nbytes, seek);
    if (h.length !== keylen) throw new Error(`internal: key header of ${h.length} bytes, expected ${keylen}`);
    record.set(h);
    record.set(payload, keylen);
    return [record, seek];
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw new Error(`${this.sink.name}: write failed`, { cause: this.failure });
  }

  /**
   * Writes one object as a key in the top directory. `build(origin)` returns the
   * uncompressed object bytes; `origin` is the key length, needed for the
   * back-references inside the object.
   */
  writeObject(
    className: string,
    name: string,
    title: string,
    build: (origin: number) => Uint8Array,
    options: { listed?: boolean } = {},
  ): KeyRecord {
    const seek = this.end;
    const keylen = keyHeaderLength(isBigSeek(seek), className, name, title);
    const raw = build(keylen);
    const payload = rootCompress(raw, this.compression);
    const nbytes = keylen + payload.length;
    const rec: KeyRecord = {
      className,
      name,
      title,
      cycle: 1,
      seek,
      nbytes,
      objlen: raw.length,
      keylen,
      datime: rootDatime(new Date()),
    };
    const w = new ByteWriter(nbytes);
    writeKeyHeader(w, { ...rec, seekPdir: FILE_BEGIN });
    w.bytes(payload);
    this.allocate(nbytes);
    this.write(w.view8(), seek);
    if (options.listed !== false) this.keys.push(rec);
    return rec;
  }

  /**
   * Writes the StreamerInfo list, keys list and free segments, then the header and
   * top directory, and closes the sink.
   */
  async close(streamers: StreamerRegistry, classes: readonly string[]): Promise<void> {
    if (this.closed) throw new Error(`${this.sink.name}: file already closed`);
    this.closed = true;
    const info = this.writeObject(
      'TList',
      'StreamerInfo',
      'Doubly linked list',
      (origin) => streamers.serialize(classes, origin),
      { listed: false },
    );

    // Keys list: the headers of all top-level keys, uncompressed.
    const keysSeek = this.end;
    const keysKeylen = keyHeaderLength(isBigSeek(keysSeek), 'TFile', this.fileName, this.title);
    const body = new ByteWriter(256);
    body.i32(this.keys.length);
    for (const k of this.keys) writeKeyHeader(body, { ...k, seekPdir: FILE_BEGIN });
    const keysNbytes = keysKeylen + body.pos;
    const kw = new ByteWriter(keysNbytes);
    writeKeyHeader(kw, {
      nbytes: keysNbytes,
      objlen: body.pos,
      datime: rootDatime(new Date()),
      keylen: keysKeylen,
      cycle: 1,
      seek: keysSeek,
      seekPdir: FILE_BEGIN,
      className: 'TFile',
      name: this.fileName,
      title: this.title,
    });
    kw.bytes(body.view8());
    this.allocate(keysNbytes);
    this.write(kw.view8(), keysSeek);

    // Free segments: any hole we left plus the open-ended tail after the file.
    const freeSeek = this.end;
    const freeKeylen = keyHeaderLength(isBigSeek(freeSeek), 'TFile', this.fileName, this.title);
    const big = isBigSeek(freeSeek);
    const freeBody = new ByteWriter(64);
    const recordLen = big ? 18 : 10;
    const nfree = this.free.length + 1;
    const fileEnd = freeSeek + freeKeylen + nfree * recordLen;
    const segments: Array<[number, number]> = [
      ...this.free,
      [fileEnd, big ? fileEnd + 1_000_000_000_000 : K_START_BIG_FILE],
    ];
    for (const [first, last] of segments) {
      const bigSeg = big || isBigSeek(last);
      if (bigSeg !== big) throw new Error('free segment past kStartBigFile in a small file');
      freeBody.i16(big ? 1001 : 1);
      if (big) {
        freeBody.i64(first);
        freeBody.i64(last);
      } else {
        freeBody.i32(first);
        freeBody.i32(last);
      }
    }
    const freeNbytes = freeKeylen + freeBody.pos;
    const fw = new ByteWriter(freeNbytes);
    writeKeyHeader(fw, {
      nbytes: freeNbytes,
      objlen: freeBody.pos,
      datime: rootDatime(new Date()),
      keylen: freeKeylen,
      cycle: 1,
      seek: freeSeek,
      seekPdir: FILE_BEGIN,
      className: 'TFile',
      name: this.fileName,
      title: this.title,
    });
    fw.bytes(freeBody.view8());
    this.allocate(freeNbytes);
    this.write(fw.view8(), freeSeek);
    if (this.end !== fileEnd) throw new Error('internal: free segment size mismatch');

    const bigFile = isBigSeek(this.end);
    this.write(
      this.header(bigFile, {
        seekFree: freeSeek,
        nbytesFree: freeNbytes,
        nfree,
        seekInfo: info.seek,
        nbytesInfo: info.nbytes,
      }),
      0,
    );
    this.write(this.topDirectory(bigFile, keysSeek, keysNbytes), FILE_BEGIN);
    try {
      await this.drain();
    } finally {
      await this.sink.close();
    }
  }

  private header(
    big: boolean,
    r: { seekFree: number; nbytesFree: number; nfree: number; seekInfo: number; nbytesInfo: number },
  ): Uint8Array {
    const w = new ByteWriter(FILE_BEGIN);
    w.bytes(Buffer.from('root', 'latin1'));
    w.i32(big ? ROOT_VERSION + 1_000_000 : ROOT_VERSION);
    w.i32(FILE_BEGIN);
    const topKeylen = keyHeaderLength(false, 'TFile', this.fileName, this.title);
    if (big) {
      w.i64(this.end);
      w.i64(r.seekFree);
    } else {
      w.i32(this.end);
      w.i32(r.seekFree);
    }
    w.i32(r.nbytesFree);
    w.i32(r.nfree);
    w.i32(this.nbytesName(topKeylen));
    w.u8(big ? 8 : 4);
    w.i32(compressionCode(this.compression));
    if (big) w.i64(r.seekInfo);
    else w.i32(r.seekInfo);
    w.i32(r.nbytesInfo);
    w.u16(1);
    w.bytes(this.uuid);
    while (w.pos < FILE_BEGIN) w.u8(0);
    return w.toBytes();
  }

  private topDirectory(big: boolean, seekKeys: number, nbytesKeys: number): Uint8Array {
    const keylen = keyHeaderLength(false, 'TFile', this.fileName, this.title);
    const nbytesName = this.nbytesName(keylen);
    const objlen = nbytesName - keylen + DIRECTORY_RECORD;
    const w = new ByteWriter(keylen + objlen);
    writeKeyHeader(w, {
      nbytes: keylen + objlen,
      objlen,
      datime: this.created,
      keylen,
      cycle: 1,
      seek: FILE_BEGIN,
      seekPdir: 0,
      className: 'TFile',
      name: this.fileName,
      title: this.title,
    });
    w.tstring(this.fileName);
    w.tstring(this.title);
    const start = w.pos;
    w.i16(big ? 1005 : 5);
    w.u32(this.created);
    w.u32(rootDatime(new Date()));
    w.i32(nbytesKeys);
    w.i32(nbytesName);
    if (big) {
      w.i64(FILE_BEGIN);
      w.i64(0);
      w.i64(seekKeys);
    } else {
      w.i32(FILE_BEGIN);
      w.i32(0);
      w.i32(seekKeys);
    }
    w.u16(1);
    w.bytes(this.uuid);
    while (w.pos - start < DIRECTORY_RECORD) w.u8(0);
    return w.toBytes();
  }
}
