import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RandomAccessSource, Storage } from '../storage/index.js';
import { readCommitted } from '../storage/content-address.js';
import { assembleDataset, type DatasetKind, type DatasetMetadata } from '../dataset/assemble.js';
import { datasetFiles } from '../dataset/layout.js';
import { InvalidInputError } from '../errors.js';
import type { FeaturePartMeta } from './features.js';

export interface BuildDatasetInput {
  /** A features run's output prefix (its parts/ hold the Parquet parts and commit records). */
  readonly featuresUri: string;
  /** Where train.parquet, test.parquet, scaler.json, particle-scaler.json, metadata.json go. */
  readonly outputUri: string;
  readonly kind: DatasetKind;
  readonly maxEvents?: number;
  readonly seed?: number;
  readonly testFraction?: number;
  readonly rowGroupSize?: number;
}

export interface BuildDatasetResult {
  readonly datasetUri: string;
  readonly kind: DatasetKind;
  readonly parts: number;
  readonly perClass: number;
  readonly counts: DatasetMetadata['counts'];
  readonly configHash: string;
}

/** The committed parts of a features run: a part without its commit record is not complete. */
export async function committedParts(store: Storage, featuresUri: string): Promise<string[]> {
  const parts: string[] = [];
  for await (const o of store.list(`${featuresUri.replace(/\/+$/, '')}/parts/`)) {
    if (!o.uri.endsWith('.commit.json')) continue;
    const record = await readCommitted<FeaturePartMeta>(store, o.uri);
    if (record && record.meta.rows > 0) parts.push(record.outputUri);
  }
  return parts;
}

/**
 * Builds a balanced, shuffled train/test dataset from a features run (external shuffle
 * on local scratch disk: memory stays bounded by the bucket size), then publishes it.
 * metadata.json is written last: a dataset with metadata is complete.
 */
export async function buildDataset(
  store: Storage,
  input: BuildDatasetInput,
  onProgress: (p: { pass: 1 | 2; rows: number }) => void = () => {},
): Promise<BuildDatasetResult> {
  const parts = await committedParts(store, input.featuresUri);
  if (parts.length === 0) throw new InvalidInputError(`no complete feature parts under ${input.featuresUri}/parts/`);
  const sources: RandomAccessSource[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-dataset-'));
  try {
    for (const p of parts) sources.push(await store.openRead(p));
    const r = await assembleDataset({
      parts: sources,
      outDir: dir,
      kind: input.kind,
      ...(input.maxEvents !== undefined ? { maxEvents: input.maxEvents } : {}),
      ...(input.seed !== undefined ? { seed: input.seed } : {}),
      ...(input.testFraction !== undefined ? { testFraction: input.testFraction } : {}),
      ...(input.rowGroupSize !== undefined ? { rowGroupSize: input.rowGroupSize } : {}),
      onProgress,
    });
    const out = datasetFiles(input.outputUri);
    await store.write(out.train, createReadStream(r.trainPath));
    await store.write(out.test, createReadStream(r.testPath));
    await store.write(out.scaler, createReadStream(r.scalerPath));
    await store.write(out.particleScaler, createReadStream(r.particleScalerPath));
    await store.write(out.metadata, createReadStream(r.metadataPath));
    return {
      datasetUri: input.outputUri,
      kind: input.kind,
      parts: parts.length,
      perClass: r.metadata.perClass,
      counts: r.metadata.counts,
      configHash: r.metadata.configHash,
    };
  } finally {
    await Promise.all(sources.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  }
}
