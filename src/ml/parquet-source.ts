/**
 * RowSource over hepflow feature Parquet files (src/parquet), local or on S3. This is
 * the module the training worker loads by name (SourceSpec.module = PARQUET_SOURCE_MODULE,
 * options = ParquetSourceOptions), because a live reader cannot cross a thread boundary.
 */
import { readFeatureRows } from '../parquet/reader.js';
import type { Storage } from '../storage/index.js';
import type { RowSource, TrainingRow } from './data.js';

export interface ParquetSourceOptions {
  /** Files to read, in this order (s3://, file:// or local paths). */
  readonly uris?: readonly string[];
  /** Or: every `*.parquet` object under this prefix, in key order. */
  readonly prefix?: string;
  /** Dataset id for run metadata; defaults to the prefix or the first file. */
  readonly id?: string;
  /** Rows per yielded batch (the shuffle buffer downstream decides the memory). */
  readonly readBatch?: number;
}

export const PARQUET_SOURCE_MODULE = new URL('./parquet-source.js', import.meta.url).href;

async function resolveUris(o: ParquetSourceOptions, store: Storage): Promise<string[]> {
  if ((o.uris === undefined) === (o.prefix === undefined)) {
    throw new Error('parquet source: give exactly one of `uris` and `prefix`');
  }
  if (o.uris !== undefined) {
    if (o.uris.length === 0) throw new Error('parquet source: `uris` is empty');
    return [...o.uris];
  }
  const found: string[] = [];
  for await (const obj of store.list(o.prefix!)) if (obj.uri.endsWith('.parquet')) found.push(obj.uri);
  if (found.length === 0) throw new Error(`parquet source: no .parquet files under ${o.prefix}`);
  return found;
}

/** `store` reads the files: the training thread passes the one it built from its settings. */
export async function createRowSource(o: ParquetSourceOptions, { store }: { store: Storage }): Promise<RowSource> {
  const uris = await resolveUris(o, store);
  const readBatch = o.readBatch ?? 1024;
  return {
    id: o.id ?? o.prefix ?? uris[0]!,
    async *batches() {
      for (const uri of uris) {
        const src = await store.openRead(uri);
        try {
          let batch: TrainingRow[] = [];
          for await (const row of readFeatureRows(src)) {
            batch.push(row);
            if (batch.length === readBatch) {
              yield batch;
              batch = [];
            }
          }
          if (batch.length > 0) yield batch;
        } finally {
          await src.close();
        }
      }
    },
  };
}
