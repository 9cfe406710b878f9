/**
 * Streaming Parquet writer for rows of any Arrow layout (a RowCodec: feature rows here,
 * score rows in src/scoring), on parquet-wasm (arrow-rs compiled to
 * WebAssembly; chosen by measurement, see docs/features.md). Rows are collected into one
 * row group (the codec chooses how), converted to an Arrow record batch and pushed into parquet-wasm's
 * streaming encoder, whose output bytes are drained to the sink (a local file or a
 * Node Writable) as they come. Memory is bounded by about two row groups.
 */
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import * as pw from 'parquet-wasm';
import { N_HLF, N_PARTICLE_FEATURES, type FeatureRow } from '../physics/schema.js';
import { FeatureColumns } from './arrow.js';
import { FORMAT_KEY, FORMAT_VERSION, METADATA_KEY } from './schema.js';

export interface ParquetWriterOptions {
  /** Rows per row group (default 1000: ~20 MB of particles at 300 particles per event). */
  rowGroupSize?: number;
  /** 'snappy' (default), 'zstd' or 'none'. */
  compression?: 'snappy' | 'zstd' | 'none';
  /** Extra key-value metadata stored in the footer. */
  metadata?: Record<string, string>;
}

const sortedJson = (o: Record<string, string>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Ends the sink so that nobody can mistake what was written for a complete file. */
  abort(reason: Error): Promise<void>;
}

async function fileSink(path: string): Promise<ByteSink> {
  const fh = await open(path, 'w');
  return {
    async write(chunk) {
      let done = 0;
      while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
    },
    close: () => fh.close(),
    async abort() {
      await fh.truncate(0);
      await fh.close();
    },
  };
}

function streamSink(stream: Writable): ByteSink {
  let failure: Error | null = null;
  stream.on('error', (e) => {
    failure = e;
  });
  return {
    write(chunk) {
      if (failure) return Promise.reject(failure);
      return new Promise<void>((resolve, reject) => {
        if (
          stream.write(chunk, (err) => {
            if (err) reject(err);
          })
        )
          resolve();
        else stream.once('drain', resolve);
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (failure) {
          reject(failure);
          return;
        }
        stream.once('error', reject);
        stream.end(() => resolve());
      }),
    async abort(reason) {
      stream.destroy(reason);
    },
  };
}

const COMPRESSION = {
  snappy: pw.Compression.SNAPPY,
  zstd: pw.Compression.ZSTD,
  none: pw.Compression.UNCOMPRESSED,
} as const;

/** One row group being filled. */
export interface RowGroup<R> {
  readonly length: number;
  push(row: R): void;
  /**
   * Arrow IPC stream bytes holding the rows as one record batch (schema included when
   * empty); then empties the group. The bytes may be reused by the next call.
   */
  takeIpc(): Uint8Array;
}

/** A row group kept as the rows themselves, for codecs that convert a whole array at once. */
export function rowArrayGroup<R>(toIpc: (rows: readonly R[]) => Uint8Array): RowGroup<R> {
  let rows: R[] = [];
  return {
    get length() {
      return rows.length;
    },
    push(row) {
      rows.push(row);
    },
    takeIpc() {
      const taken = rows;
      rows = [];
      return toIpc(taken);
    },
  };
}

/** How one kind of row becomes Arrow and what its files declare. */
export interface RowCodec<R> {
  /** An empty row group holding up to `capacity` rows, reused from one group to the next. */
  newRowGroup(capacity: number): RowGroup<R>;
  /** Throws, naming `target`, when a row cannot be written. */
  check?(row: R, target: string): void;
  /** Format key and version stored in every file's footer. */
  readonly format: Readonly<Record<string, string>>;
  /** String columns with few distinct values, dictionary-encoded. */
  readonly dictionaryColumns: readonly string[];
}

const FEATURE_CODEC: RowCodec<FeatureRow> = {
  // Feature rows are copied into columns as they come, so their particle arrays die young.
  newRowGroup: (capacity) => new FeatureColumns(capacity),
  check(row, target) {
    if (row.hlf.length !== N_HLF) throw new Error(`${target}: row hlf has ${row.hlf.length} values, expected ${N_HLF}`);
    if (row.particles.length % N_PARTICLE_FEATURES !== 0) {
      throw new Error(
        `${target}: particles length ${row.particles.length} is not a multiple of ${N_PARTICLE_FEATURES}`,
      );
    }
  },
  format: { [FORMAT_KEY]: FORMAT_VERSION },
  dictionaryColumns: ['class_name', 'source_uri'],
};

export class ParquetRowWriter<R> {
  private readonly pending: RowGroup<R>;
  private rows = 0;
  private bytes = 0;
  private closed = false;
  private controller!: ReadableStreamDefaultController<pw.RecordBatch>;
  /** Resolved when the encoder asks for more input (backpressure from the sink). */
  private wantMore: (() => void) | null = null;
  private drained!: Promise<void>;
  private abortReason: Error | null = null;

  private constructor(
    private readonly target: string,
    private readonly rowGroupSize: number,
    private readonly codec: RowCodec<R>,
  ) {
    this.pending = codec.newRowGroup(rowGroupSize);
  }

  /** Opens a writer on a local file path (created or truncated) or a Node Writable. */
  static async open<R>(
    target: string | Writable,
    codec: RowCodec<R>,
    options: ParquetWriterOptions = {},
  ): Promise<ParquetRowWriter<R>> {
    const rowGroupSize = options.rowGroupSize ?? 1000;
    if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1)
      throw new Error(`rowGroupSize must be a positive integer, got ${rowGroupSize}`);
    const w = new ParquetRowWriter(typeof target === 'string' ? target : 'stream', rowGroupSize, codec);
    const sink = typeof target === 'string' ? await fileSink(target) : streamSink(target);
    const input = new ReadableStream<pw.RecordBatch>(
      {
        start: (c) => {
          w.controller = c;
        },
        pull: () => {
          const f = w.wantMore;
          w.wantMore = null;
          f?.();
        },
      },
      { highWaterMark: 1 },
    );
    let builder = new pw.WriterPropertiesBuilder()
      .setCompression(COMPRESSION[options.compression ?? 'snappy'])
      .setMaxRowGroupSize(rowGroupSize)
      // Float features are nearly all distinct: arrow-rs would dictionary-encode the first
      // megabyte of each chunk before falling back, inflating small files by ~40%.
      // Dictionaries pay only for the repeated strings.
      .setDictionaryEnabled(false);
    for (const column of codec.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
    const props = builder
      .setCreatedBy('hepflow')
      .setKeyValueMetadata(new Map([[METADATA_KEY, sortedJson({ ...options.metadata, ...codec.format })]]))
      .build();
    // transformParquetStream resolves only once it has seen the first batch (it needs
    // the schema), so it is not awaited here.
    const output = pw.transformParquetStream(input, props);
    w.drained = (async () => {
      try {
        const reader = ((await output) as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          // parquet-wasm finishes the file (footer included) even when its input
          // errors, so an aborted writer must stop forwarding bytes itself.
          if (done || w.abortReason !== null) break;
          await sink.write(value);
          w.bytes += value.length;
        }
      } catch (e) {
        w.abortReason ??= e as Error;
      }
      if (w.abortReason !== null) {
        await sink.abort(w.abortReason);
        throw w.abortReason;
      }
      await sink.close();
    })();
    // Surface encoder/sink failures on the next write/close, not as an unhandled rejection.
    w.drained.catch(() => undefined);
    return w;
  }

  get rowsWritten(): number {
    return this.rows + this.pending.length;
  }

  async write(row: R): Promise<void> {
    if (this.closed) throw new Error(`parquet writer for ${this.target} is closed`);
    this.codec.check?.(row, this.target);
    this.pending.push(row);
    if (this.pending.length >= this.rowGroupSize) await this.flushGroup();
  }

  /** Writes the last (partial) row group and the footer, and closes the sink. */
  async close(): Promise<{ rows: number; bytes: number }> {
    if (this.closed) throw new Error(`parquet writer for ${this.target} is already closed`);
    // An empty file still needs its schema: send one zero-row batch.
    if (this.rows === 0 && this.pending.length === 0) await this.enqueue(this.pending.takeIpc());
    await this.flushGroup();
    this.closed = true;
    this.controller.close();
    await this.drained;
    return { rows: this.rows, bytes: this.bytes };
  }

  /**
   * Gives up on the file: stops the encoder; a local file is truncated to zero bytes
   * (the caller deletes or ignores it), a Writable is destroyed with `reason`.
   */
  async abort(reason: Error = new Error('aborted')): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abortReason = reason;
    this.controller.error(reason);
    this.wantMore?.();
    await this.drained.catch(() => undefined);
  }

  private async flushGroup(): Promise<void> {
    const n = this.pending.length;
    if (n === 0) return;
    await this.enqueue(this.pending.takeIpc());
    this.rows += n;
  }

  private async enqueue(ipc: Uint8Array): Promise<void> {
    // The batches share the table's buffers; free the table now rather than whenever
    // the GC finalises it, or WASM memory grows by a row group at a time.
    const table = pw.Table.fromIPCStream(ipc);
    let batches: pw.RecordBatch[];
    try {
      batches = table.recordBatches();
    } finally {
      table.free();
    }
    for (const batch of batches) {
      if ((this.controller.desiredSize ?? 0) <= 0) {
        await Promise.race([
          new Promise<void>((r) => {
            this.wantMore = r;
          }),
          this.drained,
        ]);
      }
      this.controller.enqueue(batch);
    }
  }
}

/** The writer of hepflow feature files (src/parquet/schema.ts). */
export type ParquetFeatureWriter = ParquetRowWriter<FeatureRow>;
export const ParquetFeatureWriter = {
  open: (target: string | Writable, options: ParquetWriterOptions = {}): Promise<ParquetFeatureWriter> =>
    ParquetRowWriter.open(target, FEATURE_CODEC, options),
};
