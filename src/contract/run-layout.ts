/**
 * Where everything a run writes lives in object storage, decided here and nowhere else:
 * workflows name the prefixes they hand to activities and child workflows, activities
 * and stages name the objects inside them, and both read the names from this module.
 * No Node imports: workflow code imports it inside the sandbox.
 *
 *   <work>/input/                      a generated sample (pipeline with `generate`)
 *   <work>/features/                   a per-file fan-out (fanOutFiles)
 *   <work>/dataset-<kind>/             a dataset (datasetFiles)
 *   <work>/models/<name>/              a grid search (gridFiles): runs/<point>/ each a training (trainFiles)
 *   <work>/report.json, report.md      the pipeline's report, and report.html: the same
 *                                      with plots, distributions, timings and lineage
 */
import { joinUri, trimTrailingSlashes } from '../storage/uri-path.js';

const pad = (n: number): string => String(n).padStart(6, '0');

/** The pipeline's work URI: one prefix per stage. */
export function runFiles(workUri: string) {
  const work = trimTrailingSlashes(workUri);
  return {
    work,
    /** With a trailing slash: the generator writes files under it, the features stage lists it. */
    input: `${work}/input/`,
    features: joinUri(work, 'features'),
    dataset: (kind: string) => joinUri(work, `dataset-${kind}`),
    models: (name: string) => joinUri(work, 'models', name),
    reportJson: joinUri(work, 'report.json'),
    reportMarkdown: joinUri(work, 'report.md'),
    /** Self-contained (no network to view): what `hepflow report` opens. */
    reportHtml: joinUri(work, 'report.html'),
  };
}

/**
 * A per-file fan-out (ingest, features, scoring): the listing in batches, each batch's
 * results, the manifest, and one content-addressed part (with its commit record) per file.
 */
export function fanOutFiles(outputUri: string) {
  return {
    listingBatch: (batch: number) => joinUri(outputUri, 'listing', `batch-${pad(batch)}.json`),
    batchResult: (batch: number) => joinUri(outputUri, 'results', `batch-${pad(batch)}.json`),
    manifest: joinUri(outputUri, 'manifest.json'),
    /** `parts/<key><suffix>`: the part (`.parquet`) and what belongs to it (`.commit.json`, `.accepted.csv`). */
    part: (key: string, suffix: string) => joinUri(outputUri, 'parts', `${key}${suffix}`),
    /** A scoring run's summary over every part. */
    selection: (name: 'efficiency.json' | 'efficiency.csv' | 'accepted.csv') => joinUri(outputUri, 'selection', name),
  };
}

/** The two datasets of the dataset workflow, under its output prefix. */
export const datasetKinds = (outputUri: string) => ({
  dev: joinUri(outputUri, 'dev'),
  full: joinUri(outputUri, 'full'),
});

/** Where a dataset's files live under its URI (the names assembleDataset writes). */
export function datasetFiles(datasetUri: string) {
  return {
    train: joinUri(datasetUri, 'train.parquet'),
    test: joinUri(datasetUri, 'test.parquet'),
    scaler: joinUri(datasetUri, 'scaler.json'),
    particleScaler: joinUri(datasetUri, 'particle-scaler.json'),
    metadata: joinUri(datasetUri, 'metadata.json'),
  };
}

/** A grid search: one training per point, the results table, the best point's evaluation. */
export function gridFiles(outputUri: string) {
  return {
    /** The search's own prefix, without trailing slashes. */
    root: trimTrailingSlashes(outputUri),
    run: (pointId: string) => joinUri(outputUri, 'runs', pointId),
    table: joinUri(outputUri, 'grid-results.json'),
    evaluation: joinUri(outputUri, 'evaluation'),
    /** A tuning study's finished trial-rungs, one small JSON each (workflows/tune.ts). */
    study: joinUri(outputUri, 'study'),
    trialRung: (trialId: string, rung: number) => joinUri(outputUri, 'study', `${trialId}-r${rung}.json`),
  };
}

/** One training: its model, its checkpoints, and a distributed training's round state. */
export function trainFiles(outputUri: string) {
  return {
    model: joinUri(outputUri, 'model'),
    checkpoints: joinUri(outputUri, 'checkpoints'),
    distributed: joinUri(outputUri, 'distributed'),
  };
}
