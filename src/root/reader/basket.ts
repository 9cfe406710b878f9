/**
 * The basket layer: locating a branch's baskets, fetching them with coalesced ranged
 * reads (one request covers neighbouring baskets, which matters on S3 where each GET
 * costs tens of milliseconds), and turning a basket into its data bytes plus per-entry
 * byte offsets.
 */
import type { RandomAccessSource } from '../../storage/random-access.js';
import { decompressPayload } from './compression.js';
import { Cursor } from './cursor.js';
import { RootFormatError } from '../../errors.js';
import { checkRange, readKeyHeader, readRange } from './file.js';
import type { RawBranch } from './tree-objects.js';

export interface DecodedBasket {
  readonly entryStart: number;
  readonly entryStop: number;
  /** The entries' bytes (big-endian values), without the trailing offset table. */
  readonly data: Uint8Array;
  /** entries + 1 byte offsets into `data`, when the branch records them. */
  readonly offsets: Int32Array | null;
}

/** Where one basket lives: stored in the file, or embedded in the TTree object. */
export interface BasketLocation {
  readonly index: number;
  readonly entryStart: number;
  readonly entryStop: number;
  readonly seek: number;
  readonly bytes: number;
  readonly embedded: boolean;
}

/** The baskets of a branch, in entry order, with their entry ranges. */
export function basketLocations(uri: string, branch: RawBranch): BasketLocation[] {
  const out: BasketLocation[] = [];
  const n = branch.writeBasket;
  const embeddedAt = branch.embeddedBaskets.findIndex((b, i) => b !== null && i >= n);
  const total = embeddedAt >= 0 ? n + 1 : n;
  for (let i = 0; i < total; i++) {
    const entryStart = branch.basketEntry[i];
    const entryStop = i + 1 < total ? branch.basketEntry[i + 1] : branch.entries;
    if (entryStart === undefined || entryStop === undefined || entryStop < entryStart) {
      throw new RootFormatError(uri, `branch '${branch.name}': basket ${i} has no valid entry range`);
    }
    const embedded = i === n && embeddedAt >= 0;
    const seek = embedded ? 0 : (branch.basketSeek[i] ?? 0);
    const bytes = embedded ? 0 : (branch.basketBytes[i] ?? 0);
    if (!embedded && (seek <= 0 || bytes <= 0)) {
      throw new RootFormatError(uri, `branch '${branch.name}': basket ${i} has seek ${seek} and size ${bytes}`);
    }
    out.push({ index: i, entryStart, entryStop, seek, bytes, embedded });
  }
  const covered = out.at(-1)?.entryStop ?? 0;
  if (covered !== branch.entries) {
    throw new RootFormatError(uri, `branch '${branch.name}': baskets cover ${covered} of ${branch.entries} entries`);
  }
  return out;
}

/** Decodes one basket read from the file (its TKey, basket header and payload). */
export function decodeBasket(uri: string, branch: RawBranch, loc: BasketLocation, bytes: Uint8Array): DecodedBasket {
  const what = `basket ${loc.index} of branch '${branch.name}'`;
  const c = new Cursor(bytes, uri, what);
  const key = readKeyHeader(c);
  if (key.nbytes !== loc.bytes) c.fail(`key says ${key.nbytes} bytes, the branch says ${loc.bytes}`);
  if (key.className !== 'TBasket') c.fail(`key holds a ${key.className}, not a TBasket`);
  c.u16(); // basket version
  c.i32(); // fBufferSize
  c.i32(); // fNevBufSize
  const nevBuf = c.i32();
  const last = c.i32();
  const entries = loc.entryStop - loc.entryStart;
  if (nevBuf !== entries) c.fail(`holds ${nevBuf} entries, the branch expects ${entries}`);
  const raw = decompressPayload(bytes.subarray(key.keylen, key.nbytes), key.objlen, uri, what);
  const border = last - key.keylen;
  if (border < 0 || border > raw.length) c.fail(`fLast ${last} lies outside its ${raw.length} bytes`);
  const data = raw.subarray(0, border);
  let offsets: Int32Array | null = null;
  if (branch.entryOffsetLen > 0 && raw.length > border) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (border + 4 + 4 * entries > raw.length) c.fail(`offset table of ${entries} entries runs past the basket end`);
    offsets = new Int32Array(entries + 1);
    let prev = 0;
    for (let i = 0; i < entries; i++) {
      const o = view.getInt32(border + 4 + 4 * i) - key.keylen;
      if (o < prev || o > border)
        c.fail(`entry offset ${o} of entry ${i} is out of order or past the data end ${border}`);
      offsets[i] = prev = o;
    }
    offsets[entries] = border;
  }
  return { entryStart: loc.entryStart, entryStop: loc.entryStop, data, offsets };
}

export interface ByteRequest {
  readonly seek: number;
  readonly bytes: number;
}

export interface CoalesceOptions {
  /** Merge two requests when at most this many unwanted bytes lie between them. */
  readonly maxGap: number;
  /** Never grow one merged request beyond this many bytes. */
  readonly maxRequest: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
}

/** Counts of the reads a tree issued, for tests and the benchmark. */
export interface IoStats {
  reads: number;
  bytesRead: number;
}

export const DEFAULT_COALESCE: CoalesceOptions = { maxGap: 64 * 1024, maxRequest: 16 * 1024 * 1024, concurrency: 8 };

/**
 * Fetches many byte ranges with few reads: sorted by position, neighbours (gap up to
 * maxGap) are merged into one read, and the result hands each request a view into it.
 * A source with vector reads gets all merged reads as one readv.
 */
export async function fetchCoalesced<T extends ByteRequest>(
  source: RandomAccessSource,
  requests: readonly T[],
  options: CoalesceOptions = DEFAULT_COALESCE,
  stats?: IoStats,
): Promise<Map<T, Uint8Array>> {
  const sorted = [...requests].sort((a, b) => a.seek - b.seek);
  const groups: { start: number; end: number; members: T[] }[] = [];
  for (const r of sorted) {
    const g = groups.at(-1);
    const end = r.seek + r.bytes;
    if (g && r.seek - g.end <= options.maxGap && Math.max(end, g.end) - g.start <= options.maxRequest) {
      g.end = Math.max(g.end, end);
      g.members.push(r);
    } else {
      groups.push({ start: r.seek, end, members: [r] });
    }
  }
  const out = new Map<T, Uint8Array>();
  const deliver = (g: (typeof groups)[number], bytes: Uint8Array): void => {
    if (stats) {
      stats.reads++;
      stats.bytesRead += bytes.length;
    }
    for (const m of g.members) out.set(m, bytes.subarray(m.seek - g.start, m.seek - g.start + m.bytes));
  };
  if (source.readv && groups.length > 1) {
    // One vector read for all groups (the source splits it to its server's limits):
    // one round trip instead of one per group.
    for (const g of groups) checkRange(source, g.start, g.end - g.start, 'baskets');
    const all = await source.readv(groups.map((g) => ({ offset: g.start, length: g.end - g.start })));
    groups.forEach((g, i) => deliver(g, all[i]!));
    return out;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      const g = groups[next++]!;
      deliver(g, await readRange(source, g.start, g.end - g.start, 'baskets'));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, groups.length) }, worker));
  return out;
}
