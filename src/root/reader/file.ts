/**
 * The ROOT file layer: the file header (32-bit seeks before ROOT 6's "large file"
 * format version 1000000, 64-bit after), the top directory, its list of TKeys, and
 * reading a key's object payload. All I/O goes through a RandomAccessSource, so the same
 * code reads local files and S3 objects through ranged GETs.
 */
import type { RandomAccessSource } from '../../storage/random-access.js';
import { StorageUnavailableError } from '../../storage/types.js';
import { decompressPayload } from './compression.js';
import { Cursor } from './cursor.js';
import { MissingTreeError, RootFormatError } from '../../errors.js';
import { RefTable } from './objects.js';
import { readTree } from './tree-objects.js';
import { NeedStreamerInfo, parseStreamerInfos, type StreamerInfos } from './streamers.js';
import { RootTree } from './tree.js';

/** Enough for the file header plus the top directory's key and record in one read. */
const HEAD_READ = 512;
const LARGE_FILE_VERSION = 1000000;

export interface TKey {
  readonly nbytes: number;
  readonly version: number;
  readonly objlen: number;
  readonly keylen: number;
  readonly cycle: number;
  readonly seekKey: number;
  readonly className: string;
  readonly name: string;
  readonly title: string;
}

export interface FileHeader {
  readonly version: number;
  readonly begin: number;
  readonly end: number;
  readonly seekInfo: number;
  readonly nbytesInfo: number;
  readonly nbytesName: number;
  readonly compress: number;
}

/** Reads a TKey header (the part in front of every object and basket). */
export function readKeyHeader(c: Cursor): TKey {
  const nbytes = c.i32();
  const version = c.i16();
  const objlen = c.i32();
  c.u32(); // fDatime
  const keylen = c.i16();
  const cycle = c.i16();
  const large = version > 1000;
  const seekKey = large ? c.i64() : c.i32();
  if (large) c.i64();
  else c.i32(); // fSeekPdir
  const className = c.tstring();
  const name = c.tstring();
  const title = c.tstring();
  if (nbytes < keylen || keylen <= 0 || objlen < 0) {
    c.fail(`key '${name}' has inconsistent sizes (fNbytes ${nbytes}, fKeylen ${keylen}, fObjlen ${objlen})`);
  }
  return { nbytes, version, objlen, keylen, cycle, seekKey, className, name, title };
}

export interface GetTreeOptions {
  /**
   * Read the TTree and branch metadata through the file's StreamerInfo even where a
   * built-in deserialiser exists (slower: one more read). For tests and odd files.
   */
  readonly preferStreamers?: boolean;
}

export class RootFile {
  private streamers: Promise<StreamerInfos> | undefined;

  private constructor(
    readonly source: RandomAccessSource,
    readonly header: FileHeader,
    readonly keys: readonly TKey[],
    /** Where the top directory's keys list lies (for tools that map the file's layout). */
    readonly keysList: { readonly seek: number; readonly nbytes: number },
  ) {}

  get uri(): string {
    return this.source.uri;
  }

  static async open(source: RandomAccessSource): Promise<RootFile> {
    const uri = source.uri;
    if (source.size < 4) throw new RootFormatError(uri, `not a ROOT file: only ${source.size} bytes`);
    const head = await readRange(source, 0, Math.min(HEAD_READ, source.size), 'file header');
    if (head[0] !== 0x72 || head[1] !== 0x6f || head[2] !== 0x6f || head[3] !== 0x74) {
      const magic = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new RootFormatError(uri, `not a ROOT file: starts with bytes ${magic}, not "root"`);
    }
    const c = new Cursor(head, uri, 'file header', 4);
    const version = c.i32();
    const begin = c.i32();
    const large = version >= LARGE_FILE_VERSION;
    const end = large ? c.i64() : c.i32();
    if (large) c.i64();
    else c.i32(); // fSeekFree
    c.i32(); // fNbytesFree
    c.i32(); // nfree
    const nbytesName = c.i32();
    c.u8(); // fUnits
    const compress = c.i32();
    const seekInfo = large ? c.i64() : c.i32();
    const nbytesInfo = c.i32();
    const header: FileHeader = { version, begin, end, seekInfo, nbytesInfo, nbytesName, compress };
    if (end > source.size) {
      throw new RootFormatError(
        uri,
        `truncated: the header says the file is ${end} bytes, the object has ${source.size}`,
      );
    }
    if (begin < 0 || begin >= end || nbytesName <= 0)
      c.fail(`corrupt header (fBEGIN ${begin}, fEND ${end}, fNbytesName ${nbytesName})`);

    // The top directory record follows the directory's own key and name.
    const dirAt = begin + nbytesName;
    const dirBytes =
      dirAt + 42 <= head.length ? head : await readRange(source, 0, Math.min(dirAt + 64, source.size), 'top directory');
    const d = new Cursor(dirBytes, uri, 'top directory', dirAt);
    const dirVersion = d.i16();
    d.u32(); // ctime
    d.u32(); // mtime
    const nbytesKeys = d.i32();
    d.i32(); // nbytesName
    const dirLarge = dirVersion > 1000;
    if (dirLarge) d.i64();
    else d.i32(); // fSeekDir
    if (dirLarge) d.i64();
    else d.i32(); // fSeekParent
    const seekKeys = dirLarge ? d.i64() : d.i32();
    if (seekKeys <= 0 || nbytesKeys <= 0 || seekKeys + nbytesKeys > end) {
      d.fail(`keys list at ${seekKeys} (+${nbytesKeys}) lies outside the file's ${end} bytes`);
    }
    const keyBytes = await readRange(source, seekKeys, nbytesKeys, 'keys list');
    const k = new Cursor(keyBytes, uri, 'keys list');
    readKeyHeader(k); // the key of the keys list itself
    const n = k.i32();
    if (n < 0 || n > nbytesKeys) k.fail(`claims ${n} keys`);
    const keys: TKey[] = [];
    for (let i = 0; i < n; i++) keys.push(readKeyHeader(k));
    return new RootFile(source, header, keys, { seek: seekKeys, nbytes: nbytesKeys });
  }

  /** Reads and decompresses the object behind a key; the cursor numbers as ROOT did. */
  async readKeyPayload(key: TKey): Promise<Cursor> {
    const what = `${key.className} '${key.name}'`;
    if (key.seekKey <= 0 || key.seekKey + key.nbytes > this.header.end) {
      throw new RootFormatError(this.uri, `${what} at ${key.seekKey} (+${key.nbytes}) lies outside the file`);
    }
    const bytes = await readRange(this.source, key.seekKey, key.nbytes, what);
    const payload = decompressPayload(bytes.subarray(key.keylen), key.objlen, this.uri, what);
    return new Cursor(payload, this.uri, what, 0, key.keylen);
  }

  /** The file's class descriptions (fetched once, on first need). */
  streamerInfos(): Promise<StreamerInfos> {
    this.streamers ??= (async () => {
      const { seekInfo, nbytesInfo } = this.header;
      if (seekInfo <= 0 || nbytesInfo <= 0) throw new RootFormatError(this.uri, 'the file has no StreamerInfo record');
      const head = new Cursor(
        await readRange(this.source, seekInfo, nbytesInfo, 'StreamerInfo key'),
        this.uri,
        'StreamerInfo key',
      );
      const key = readKeyHeader(head);
      const c = await this.readKeyPayload({ ...key, seekKey: seekInfo });
      return parseStreamerInfos(c, new RefTable());
    })();
    return this.streamers;
  }

  /** The TTree `name` in the top directory (highest cycle wins, as in ROOT). */
  async getTree(name: string, options: GetTreeOptions = {}): Promise<RootTree> {
    let best: TKey | undefined;
    for (const key of this.keys) {
      if (key.name === name && key.className === 'TTree' && (!best || key.cycle > best.cycle)) best = key;
    }
    if (!best) {
      throw new MissingTreeError(
        this.uri,
        name,
        this.keys.map((key) => `${key.name};${key.cycle} (${key.className})`),
      );
    }
    const payload = await this.readKeyPayload(best);
    const prefer = options.preferStreamers ?? false;
    let raw;
    try {
      raw = readTree(payload, prefer ? await this.streamerInfos() : undefined, prefer);
    } catch (error) {
      if (!(error instanceof NeedStreamerInfo)) throw error;
      payload.seek(0);
      raw = readTree(payload, await this.streamerInfos());
    }
    return new RootTree(this, raw);
  }
}

/**
 * Reads a range. A range past the object's end is the file's fault (truncated), so a
 * RootFormatError; a failing read is the store's, so its error passes through unchanged
 * (StorageUnavailableError for an outage: retryable, never a verdict on the file).
 */
/** A range past the file's end is a broken file (truncated, or a wrong seek): a format error. */
export function checkRange(source: RandomAccessSource, offset: number, length: number, what: string): void {
  if (offset < 0 || length < 0 || offset + length > source.size) {
    throw new RootFormatError(
      source.uri,
      `${what}: bytes ${offset}..${offset + length} lie past the end (${source.size} bytes; truncated?)`,
    );
  }
}

export async function readRange(
  source: RandomAccessSource,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  checkRange(source, offset, length, what);
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    // The source knows the object is long enough, so fewer bytes means a cut transfer.
    throw new StorageUnavailableError(
      source.uri,
      `read bytes ${offset}-${offset + length - 1} (${what}) of`,
      `got ${bytes.length} of ${length} bytes`,
    );
  }
  return bytes;
}

export async function openRootFile(source: RandomAccessSource): Promise<RootFile> {
  return RootFile.open(source);
}
