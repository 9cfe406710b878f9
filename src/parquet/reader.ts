/**
 * Streaming reader of feature Parquet files, one row group at a time, from a local
 * path or a RandomAccessSource (S3 ranged reads). parquet-wasm reads through a
 * Blob-shaped view of the source, so only the footer and the requested row group's
 * byte ranges are fetched.
 */
import { open } from 'node:fs/promises';
import * as pw from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import type { RandomAccessSource } from '../storage/random-access.js';
import { HLF_NAMES, N_HLF, type FeatureRow } from '../physics/schema.js';
import { tableToBatch, type FeatureBatch } from './arrow.js';
import { FEATURE_COLUMNS, FORMAT_KEY, FORMAT_VERSION, METADATA_KEY } from './schema.js';

export type { FeatureBatch } from './arrow.js';

export interface FeatureFileInfo {
  readonly uri: string;
  readonly numRows: number;
  readonly rowGroupRows: number[];
  readonly metadata: Record<string, string>;
}

type Source = RandomAccessSource | string;

async function localSource(path: string): Promise<RandomAccessSource> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    uri: path,
    size,
    async read(offset, length) {
      if (offset + length > size)
        throw new Error(`${path}: read of ${length} bytes at ${offset} passes the end (${size})`);
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${path}: unexpected end of file at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}

/** The part of the Blob interface parquet-wasm's ParquetFile.fromFile uses. */
interface BlobView {
  readonly size: number;
  slice(start?: number, end?: number): BlobView;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * What parquet-wasm's reads go through. parquet-wasm cannot take a rejected read (it
 * panics — on row-group data with an uncatchable `RuntimeError: unreachable` that kills
 * the process — or never settles), so:
 * - the footer and row groups are read with our own reads first (the file's tail;
 *   `prefetch` for a row group's column chunks), where an outage is an ordinary,
 *   retryable error, and parquet-wasm's reads inside that window are answered from memory;
 * - a read outside the window that fails is recorded in `failure` and answered with no
 *   bytes, which the footer parser rejects as malformed; the caller then raises the
 *   recorded error.
 */
interface ReadContext {
  readonly src: RandomAccessSource;
  failure?: unknown;
  window?: { readonly start: number; readonly bytes: Uint8Array } | undefined;
}

function blobView(ctx: ReadContext, start: number, end: number): BlobView {
  return {
    size: end - start,
    slice(s = 0, e = end - start) {
      const a = start + Math.max(0, Math.min(s, end - start));
      return blobView(ctx, a, Math.max(a, start + Math.min(e, end - start)));
    },
    async arrayBuffer() {
      const w = ctx.window;
      if (w !== undefined && start >= w.start && end <= w.start + w.bytes.length) {
        return w.bytes.buffer.slice(
          w.bytes.byteOffset + start - w.start,
          w.bytes.byteOffset + end - w.start,
        ) as ArrayBuffer;
      }
      let bytes: Uint8Array;
      try {
        bytes = await ctx.src.read(start, end - start);
      } catch (e) {
        ctx.failure ??= e;
        return new ArrayBuffer(0);
      }
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** Enough of the file's end for parquet-wasm's footer reads: the footer and at least 64 KiB. */
async function readTail(src: RandomAccessSource): Promise<ReadContext['window']> {
  if (src.size < 12) return undefined;
  const end = await src.read(src.size - 8, 8);
  const footer = new DataView(end.buffer, end.byteOffset, 8).getUint32(0, true);
  const start = Math.max(0, src.size - Math.max(footer + 8, 64 * 1024));
  return { start, bytes: await src.read(start, src.size - start) };
}

/** A column chunk's place in the file, by its top-level column name. */
interface ChunkRange {
  readonly column: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Each row group's column chunks' byte ranges, where the file has the layout arrow-rs and
 * pyarrow write: the 4-byte magic, then every row group's column chunks back to back in
 * schema order. Empty when the sizes do not fit the file (another layout): reads then go
 * to the source directly.
 */
function chunkRanges(meta: pw.ParquetMetaData, fileSize: number): ChunkRange[][] {
  const groups: ChunkRange[][] = [];
  let at = 4;
  for (const g of meta.rowGroups()) {
    groups.push(
      g.columns().map((c) => {
        const start = at;
        at += c.compressedSize();
        return { column: c.columnPath()[0] ?? '', start, end: at };
      }),
    );
  }
  return at <= fileSize ? groups : [];
}

interface Opened {
  ctx: ReadContext;
  file: pw.ParquetFile;
  owned: boolean;
  info: FeatureFileInfo;
  chunks: ChunkRange[][];
}

/** Reads the bytes of row group `g`'s `columns` ourselves before parquet-wasm decodes them (see ReadContext). */
async function prefetch(f: Opened, g: number, columns: readonly string[]): Promise<void> {
  f.ctx.window = undefined;
  const wanted = f.chunks[g]?.filter((c) => columns.includes(c.column)) ?? [];
  if (wanted.length === 0) return;
  const start = Math.min(...wanted.map((c) => c.start));
  const end = Math.max(...wanted.map((c) => c.end));
  f.ctx.window = { start, bytes: await f.ctx.src.read(start, end - start) };
}

async function openFeatureFile(source: Source): Promise<Opened> {
  const owned = typeof source === 'string';
  const src = owned ? await localSource(source) : source;
  try {
    const ctx: ReadContext = { src, window: await readTail(src) };
    let file: pw.ParquetFile;
    try {
      file = await pw.ParquetFile.fromFile(blobView(ctx, 0, src.size) as unknown as Blob);
    } catch (e) {
      // A failed read (an outage) says nothing about the file: it keeps its own type.
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the storage failure as raised, whatever its class
      if (ctx.failure !== undefined) throw ctx.failure;
      throw new Error(`${src.uri}: not a readable Parquet file: ${String((e as Error)?.message ?? e)}`, { cause: e });
    }
    const meta = file.metadata();
    const fileMeta = meta.fileMetadata();
    // ARROW:schema is arrow-rs' private copy of the schema, not user metadata.
    const raw = Object.fromEntries(
      Array.from(fileMeta.keyValueMetadata().entries(), ([k, v]) => [String(k), String(v ?? '')]).filter(
        ([k]) => k !== 'ARROW:schema',
      ),
    );
    const { [METADATA_KEY]: packed, ...kv } = raw;
    if (packed !== undefined) {
      try {
        Object.assign(kv, JSON.parse(packed) as Record<string, string>);
      } catch {
        throw new Error(`${src.uri}: footer metadata '${METADATA_KEY}' is not JSON`);
      }
    }
    const version = kv[FORMAT_KEY];
    if (version !== undefined && version !== FORMAT_VERSION) {
      throw new Error(`${src.uri}: feature format version ${version}, this reader knows ${FORMAT_VERSION}`);
    }
    const schema = file.schema();
    const missing = FEATURE_COLUMNS.filter((c) => schema.indexOf(c) < 0);
    if (missing.length > 0)
      throw new Error(`${src.uri}: not a hepflow feature file, missing columns ${missing.join(', ')}`);
    const info: FeatureFileInfo = {
      uri: src.uri,
      numRows: fileMeta.numRows(),
      rowGroupRows: meta.rowGroups().map((g) => g.numRows()),
      metadata: kv,
    };
    return { ctx, file, owned, info, chunks: chunkRanges(meta, src.size) };
  } catch (e) {
    if (owned) await src.close();
    throw e;
  }
}

export async function readFeatureFileInfo(source: Source): Promise<FeatureFileInfo> {
  const f = await openFeatureFile(source);
  try {
    return f.info;
  } finally {
    f.file.free();
    if (f.owned) await f.ctx.src.close();
  }
}

/**
 * Yields one FeatureBatch per row group, in file order, or only the row groups listed
 * in `rowGroups`, in that order (a training shard reads just its own).
 */
export async function* readFeatureBatches(source: Source, rowGroups?: readonly number[]): AsyncGenerator<FeatureBatch> {
  const f = await openFeatureFile(source);
  try {
    const n = f.info.rowGroupRows.length;
    const bad = rowGroups?.find((g) => !(Number.isInteger(g) && g >= 0 && g < n));
    if (bad !== undefined) throw new Error(`${f.ctx.src.uri}: no row group ${bad} (the file has ${n})`);
    for (const g of rowGroups ?? f.info.rowGroupRows.map((_, i) => i)) {
      const rows = f.info.rowGroupRows[g]!;
      await prefetch(f, g, FEATURE_COLUMNS);
      const t = await f.file.read({ rowGroups: [g], batchSize: Math.max(1, rows), columns: [...FEATURE_COLUMNS] });
      const batch = tableToBatch(tableFromIPC(t.intoIPCStream()), `${f.ctx.src.uri} row group ${g}`);
      if (batch.length !== rows)
        throw new Error(`${f.ctx.src.uri}: row group ${g} has ${batch.length} rows, footer says ${rows}`);
      yield batch;
    }
  } finally {
    f.file.free();
    if (f.owned) await f.ctx.src.close();
  }
}

/**
 * The labels and the 14 HLF (row-major) of each row group, without the particles, which
 * hold nearly all of a file's bytes: only the small column chunks are fetched.
 */
export async function* readHlfBatches(source: Source): AsyncGenerator<Pick<FeatureBatch, 'length' | 'label' | 'hlf'>> {
  const f = await openFeatureFile(source);
  const columns = ['label', ...HLF_NAMES];
  try {
    for (let g = 0; g < f.info.rowGroupRows.length; g++) {
      const rows = f.info.rowGroupRows[g]!;
      await prefetch(f, g, columns);
      const t = tableFromIPC(
        (await f.file.read({ rowGroups: [g], batchSize: Math.max(1, rows), columns })).intoIPCStream(),
      );
      const col = (name: string) => {
        const c = t.getChild(name);
        if (c === null) throw new Error(`${f.ctx.src.uri}: row group ${g} has no ${name} column`);
        return c;
      };
      const label = Int32Array.from(col('label').toArray() as Int32Array);
      if (label.length !== rows)
        throw new Error(`${f.ctx.src.uri}: row group ${g} has ${label.length} rows, footer says ${rows}`);
      const hlf = new Float32Array(rows * N_HLF);
      HLF_NAMES.forEach((name, k) => {
        const v = col(name).toArray() as Float32Array;
        for (let i = 0; i < rows; i++) hlf[i * N_HLF + k] = v[i]!;
      });
      yield { length: rows, label, hlf };
    }
  } finally {
    f.file.free();
    if (f.owned) await f.ctx.src.close();
  }
}

/** The label column alone (cheap: one small column chunk per row group). */
export async function readFeatureLabels(source: Source): Promise<Int32Array> {
  const f = await openFeatureFile(source);
  try {
    const out = new Int32Array(f.info.numRows);
    let at = 0;
    for (let g = 0; g < f.info.rowGroupRows.length; g++) {
      await prefetch(f, g, ['label']);
      const t = tableFromIPC((await f.file.read({ rowGroups: [g], columns: ['label'] })).intoIPCStream());
      const col = t.getChild('label');
      if (col === null) throw new Error(`${f.ctx.src.uri}: row group ${g} has no label column`);
      out.set(col.toArray() as Int32Array, at);
      at += col.length;
    }
    if (at !== out.length) throw new Error(`${f.ctx.src.uri}: read ${at} labels, footer says ${out.length} rows`);
    return out;
  } finally {
    f.file.free();
    if (f.owned) await f.ctx.src.close();
  }
}

/** Yields FeatureRows one at a time (views into the current row group's batch). */
export async function* readFeatureRows(source: Source, rowGroups?: readonly number[]): AsyncGenerator<FeatureRow> {
  for await (const b of readFeatureBatches(source, rowGroups)) {
    for (let i = 0; i < b.length; i++) {
      yield {
        label: b.label[i]!,
        className: b.className[i]!,
        hlf: b.hlf.subarray(i * N_HLF, (i + 1) * N_HLF),
        particles: b.particles.subarray(b.particleOffsets[i], b.particleOffsets[i + 1]),
        sourceUri: b.sourceUri[i]!,
        sourceEntry: b.sourceEntry[i]!,
      };
    }
  }
}
