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
import { N_HLF, type FeatureRow } from '../dataset/schema.js';
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
      if (offset + length > size) throw new Error(`${path}: read of ${length} bytes at ${offset} passes the end (${size})`);
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
interface BlobView { readonly size: number; slice(start?: number, end?: number): BlobView; arrayBuffer(): Promise<ArrayBuffer> }

/**
 * parquet-wasm cannot take a rejected read (it panics and never settles), so a failed
 * read is recorded in `failure` and answered with no bytes, which parquet-wasm's footer
 * parsing rejects as malformed; the caller then raises the recorded error. (Row-group
 * reads panic on short data too: an outage there still stalls the read.)
 */
function blobView(src: RandomAccessSource, start: number, end: number, failure: ReadFailure): BlobView {
  return {
    size: end - start,
    slice(s = 0, e = end - start) {
      const a = start + Math.max(0, Math.min(s, end - start));
      return blobView(src, a, Math.max(a, start + Math.min(e, end - start)), failure);
    },
    async arrayBuffer() {
      let bytes: Uint8Array;
      try {
        bytes = await src.read(start, end - start);
      } catch (e) {
        failure.error ??= e;
        return new ArrayBuffer(0);
      }
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

interface ReadFailure { error?: unknown }

interface Opened { src: RandomAccessSource; file: pw.ParquetFile; owned: boolean; info: FeatureFileInfo }

async function openFeatureFile(source: Source): Promise<Opened> {
  const owned = typeof source === 'string';
  const src = owned ? await localSource(source) : source;
  try {
    const failure: ReadFailure = {};
    let file: pw.ParquetFile;
    try {
      file = await pw.ParquetFile.fromFile(blobView(src, 0, src.size, failure) as unknown as Blob);
    } catch (e) {
      // A failed read (an outage) says nothing about the file: it keeps its own type.
      if (failure.error !== undefined) throw failure.error;
      throw new Error(`${src.uri}: not a readable Parquet file: ${String((e as Error)?.message ?? e)}`, { cause: e });
    }
    const meta = file.metadata();
    const fileMeta = meta.fileMetadata();
    // ARROW:schema is arrow-rs' private copy of the schema, not user metadata.
    const raw = Object.fromEntries(Array.from(fileMeta.keyValueMetadata().entries(), ([k, v]) => [String(k), String(v ?? '')])
      .filter(([k]) => k !== 'ARROW:schema'));
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
    if (missing.length > 0) throw new Error(`${src.uri}: not a hepflow feature file, missing columns ${missing.join(', ')}`);
    const info: FeatureFileInfo = {
      uri: src.uri,
      numRows: fileMeta.numRows(),
      rowGroupRows: meta.rowGroups().map((g) => g.numRows()),
      metadata: kv,
    };
    return { src, file, owned, info };
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
    if (f.owned) await f.src.close();
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
    if (bad !== undefined) throw new Error(`${f.src.uri}: no row group ${bad} (the file has ${n})`);
    for (const g of rowGroups ?? f.info.rowGroupRows.map((_, i) => i)) {
      const rows = f.info.rowGroupRows[g]!;
      const t = await f.file.read({ rowGroups: [g], batchSize: Math.max(1, rows), columns: [...FEATURE_COLUMNS] });
      const batch = tableToBatch(tableFromIPC(t.intoIPCStream()), `${f.src.uri} row group ${g}`);
      if (batch.length !== rows) throw new Error(`${f.src.uri}: row group ${g} has ${batch.length} rows, footer says ${rows}`);
      yield batch;
    }
  } finally {
    f.file.free();
    if (f.owned) await f.src.close();
  }
}

/** The label column alone (cheap: one small column chunk per row group). */
export async function readFeatureLabels(source: Source): Promise<Int32Array> {
  const f = await openFeatureFile(source);
  try {
    const out = new Int32Array(f.info.numRows);
    let at = 0;
    for (let g = 0; g < f.info.rowGroupRows.length; g++) {
      const t = tableFromIPC((await f.file.read({ rowGroups: [g], columns: ['label'] })).intoIPCStream());
      const col = t.getChild('label');
      if (col === null) throw new Error(`${f.src.uri}: row group ${g} has no label column`);
      out.set(col.toArray() as Int32Array, at);
      at += col.length;
    }
    if (at !== out.length) throw new Error(`${f.src.uri}: read ${at} labels, footer says ${out.length} rows`);
    return out;
  } finally {
    f.file.free();
    if (f.owned) await f.src.close();
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
        particles: b.particles.subarray(b.particleOffsets[i]!, b.particleOffsets[i + 1]!),
        sourceUri: b.sourceUri[i]!,
        sourceEntry: b.sourceEntry[i]!,
      };
    }
  }
}
