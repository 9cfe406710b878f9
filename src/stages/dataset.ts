/**
 * The dataset stage over object storage: the parts a features run's manifest lists,
 * each checked against its commit record, assembled into a balanced, shuffled, split
 * dataset (src/dataset). What the `buildDataset` activity and `hepflow dataset` run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RandomAccessSource, Storage } from '../storage/index.js';
import { readCommitted } from '../storage/content-address.js';
import { assembleDataset, type DatasetKind, type DatasetMetadata } from '../dataset/assemble.js';
import { datasetFiles, fanOutFiles } from '../contract/run-layout.js';
import { InvalidInputError } from '../errors.js';
import { commitUriOf, type FeaturePartMeta, type PrepareFileFeaturesResult } from './features.js';
import type { FileResult } from '../contract/fan-out.js';
import { withoutUndefined } from '../contract/defined.js';

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
  /** Class names by label index, from the features run's samples. */
  readonly classes: readonly string[];
  readonly perClass: number;
  /** Selected events per class in the features run: what the dataset balanced from. */
  readonly available: DatasetMetadata['available'];
  readonly counts: DatasetMetadata['counts'];
  readonly configHash: string;
}

/** What the dataset stage reads of a features run's manifest.json. */
export interface FeaturesManifest {
  readonly kind: string;
  readonly classes: readonly string[];
  readonly samples: readonly { readonly name: string }[];
  readonly files: readonly FileResult<PrepareFileFeaturesResult>[];
}

export interface ManifestPart {
  readonly uri: string;
  /** Sample name and the file's path within it: the part's place in the dataset. */
  readonly key: string;
  readonly rows: number;
}

/**
 * The parts of exactly this features run, from its manifest (not whatever else lies
 * under parts/: an earlier run on the same work URI may have left other parts there),
 * each checked against its commit record, keyed by what does not depend on where the
 * run wrote: the sample's name and the file's path within the sample.
 */
export async function manifestParts(
  store: Storage,
  featuresUri: string,
): Promise<{ classes: readonly string[]; parts: ManifestPart[] }> {
  const uri = fanOutFiles(featuresUri).manifest;
  if (!(await store.head(uri))) {
    throw new InvalidInputError(
      `no ${uri}: not a features run (write one with featuresWorkflow or \`hepflow features\`)`,
    );
  }
  const manifest = await store.readJson<FeaturesManifest>(uri);
  if (manifest.kind !== 'hepflow.features-manifest/v2' || !Array.isArray(manifest.classes)) {
    throw new InvalidInputError(
      `${uri}: a ${manifest.kind ?? 'unknown'} manifest, not a features manifest with classes (hepflow.features-manifest/v2)`,
    );
  }
  if (manifest.classes.length < 2) {
    throw new InvalidInputError(
      `${uri}: a dataset needs at least two classes, this features run has ${manifest.classes.length === 1 ? `only '${manifest.classes[0]}'` : 'none'} (give one sample per class to \`hepflow features\`)`,
    );
  }
  const parts: ManifestPart[] = [];
  for (const f of manifest.files) {
    if (f.status !== 'ok' || f.outcome.rows === 0) continue;
    const record = await readCommitted<FeaturePartMeta>(store, commitUriOf(f.outcome.partUri));
    if (!record || record.meta.rows !== f.outcome.rows) {
      throw new InvalidInputError(
        `${f.outcome.partUri} (from ${f.file.uri}) is missing or changed since the features run ${featuresUri}; rerun it`,
      );
    }
    const sample = f.file.sample ?? 0;
    parts.push({
      uri: f.outcome.partUri,
      key: `${manifest.samples[sample]?.name ?? sample}/${f.file.rel ?? f.file.uri}`,
      rows: f.outcome.rows,
    });
  }
  return { classes: manifest.classes, parts };
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
  const { classes, parts } = await manifestParts(store, input.featuresUri);
  if (parts.length === 0) throw new InvalidInputError(`the features run ${input.featuresUri} selected no events`);
  const sources: RandomAccessSource[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-dataset-'));
  try {
    for (const p of parts) sources.push(await store.openRead(p.uri));
    const r = await assembleDataset({
      parts: sources.map((source, i) => ({ source, key: parts[i]!.key })),
      classes,
      outDir: dir,
      kind: input.kind,
      ...withoutUndefined({
        maxEvents: input.maxEvents,
        seed: input.seed,
        testFraction: input.testFraction,
        rowGroupSize: input.rowGroupSize,
      }),
      onProgress,
    });
    // Conservation between stages: each part holds the rows the features run counted.
    const expected = new Map(parts.map((p) => [p.key, p.rows]));
    for (const p of r.metadata.parts) {
      if (expected.get(p.key) !== p.rows)
        throw new InvalidInputError(
          `${p.key}: the features run counted ${expected.get(p.key)} rows, its part holds ${p.rows}`,
        );
    }
    const out = datasetFiles(input.outputUri);
    await store.moveIn(out.train, r.trainPath);
    await store.moveIn(out.test, r.testPath);
    await store.moveIn(out.scaler, r.scalerPath);
    await store.moveIn(out.particleScaler, r.particleScalerPath);
    await store.moveIn(out.metadata, r.metadataPath);
    return {
      datasetUri: input.outputUri,
      kind: input.kind,
      parts: parts.length,
      classes,
      perClass: r.metadata.perClass,
      available: r.metadata.available,
      counts: r.metadata.counts,
      configHash: r.metadata.configHash,
    };
  } finally {
    await Promise.all(sources.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  }
}
