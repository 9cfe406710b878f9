/**
 * The features of one ROOT file: selection and feature preparation (src/physics) into
 * one content-addressed Parquet part, labelled by its sample, with a commit record so a
 * rerun reuses it. What the `prepareFileFeatures` activity and `hepflow features` run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ObjectNotFoundError, type Storage } from '../storage/index.js';
import { commit, derivedKey, readCommitted } from '../storage/content-address.js';
import { fanOutFiles } from '../contract/run-layout.js';
import { readDelphesEvents } from '../delphes/reader.js';
import { prepareFeatures, withEntries } from '../physics/prepare.js';
import { FEATURE_DEFINITION_VERSION, type CutFlow } from '../physics/features.js';
import { DELPHES_BRANCHES } from '../contract/delphes-event.js';
import type { LabelSource } from '../contract/samples.js';
import type { FeatureOptions } from '../contract/fan-out.js';
import { ParquetFeatureWriter } from '../parquet/writer.js';
import { type FeatureSink } from '../physics/schema.js';
import { labelsPathFor } from '../generator/file.js';
import type { InputIdentity as FileRef } from '../storage/content-address.js';
import { InvalidInputError } from '../errors.js';

export type { LabelSource, FeatureOptions };

export interface PrepareFileFeaturesInput extends FeatureOptions {
  readonly file: FileRef;
  /** Parts and their commit records go under <outputUri>/parts/. */
  readonly outputUri: string;
}

export interface FeaturePartMeta {
  readonly source: FileRef;
  readonly rows: number;
  readonly cutFlow: CutFlow;
  /** Rows per class name. */
  readonly classRows: Readonly<Record<string, number>>;
  readonly featureVersion: number;
}

export interface PrepareFileFeaturesResult {
  readonly partUri: string;
  /** The cut flow, the rows written, and the rows of each class as `class:<name>`. */
  readonly counters: Readonly<Record<string, number>>;
  readonly rows: number;
  readonly reused: boolean;
}

const invalid = (message: string): InvalidInputError => new InvalidInputError(message);

/** Labels the rows of one file: one class for all, or the generator's sidecar per entry. */
export async function labelling(
  store: Storage,
  file: FileRef,
  source: LabelSource,
): Promise<(entry: number) => { label: number; className: string }> {
  if (source.from === 'class') {
    if (!Number.isInteger(source.label) || source.label < 0)
      throw invalid(`label of class '${source.className}' must be a non-negative integer, got ${source.label}`);
    const fixed = { label: source.label, className: source.className };
    return () => fixed;
  }
  if (source.from !== 'sidecar') throw invalid(`unknown label source ${JSON.stringify(source)}`);
  const uri = labelsPathFor(file.uri);
  const sidecar = await store.readJson<{ labels: number[]; classes: string[] }>(uri).catch((e) => {
    if (e instanceof ObjectNotFoundError)
      throw invalid(`${file.uri}: no labels sidecar ${uri}; give the files' class as a sample instead`);
    throw e;
  });
  if (!Array.isArray(sidecar.classes)) throw invalid(`${uri}: no classes list`);
  // The sidecar's label indices are its own; the run's classes may be ordered otherwise.
  const mapped = sidecar.classes.map((c) => {
    const label = source.classes.indexOf(c);
    if (label < 0) throw invalid(`${uri}: class '${c}' is not one of the run's classes (${source.classes.join(', ')})`);
    return { label, className: c };
  });
  return (entry: number) => {
    const m = mapped[sidecar.labels[entry]!];
    if (m === undefined) throw invalid(`${uri}: no valid label for entry ${entry} of ${file.uri}`);
    return m;
  };
}

/** Labels each row by its entry and counts the rows per class. */
const labelled = (
  out: FeatureSink,
  labelOf: (entry: number) => { label: number; className: string },
  classRows: Record<string, number>,
): FeatureSink => ({
  write: (row) => {
    const l = labelOf(row.sourceEntry);
    classRows[l.className] = (classRows[l.className] ?? 0) + 1;
    return out.write({ ...row, ...l });
  },
});

/** The configuration that, with the input's identity, determines a part's content. */
export const featureConfig = (o: FeatureOptions) => ({
  featureVersion: FEATURE_DEFINITION_VERSION,
  labels: o.labels,
  treeName: o.treeName ?? 'Delphes',
  emptyIfMissing: [...(o.emptyIfMissing ?? [])].sort(),
  rowGroupSize: o.rowGroupSize ?? 1000,
});

/**
 * Selection and features for one ROOT file, written as one Parquet file at `outUri`
 * (built on local disk, then streamed up). Returns the cut flow and the rows written.
 */
export async function writeFeatureFile(
  store: Storage,
  file: FileRef,
  options: FeatureOptions,
  outUri: string,
  onProgress: (cutFlow: Readonly<CutFlow>) => void = () => {},
): Promise<{ rows: number; cutFlow: CutFlow; classRows: Record<string, number> }> {
  const config = featureConfig(options);
  for (const c of config.emptyIfMissing) {
    if (!(c in DELPHES_BRANCHES))
      throw invalid(`emptyIfMissing: unknown collection '${c}' (known: ${Object.keys(DELPHES_BRANCHES).join(', ')})`);
  }
  const labelOf = await labelling(store, file, options.labels);
  const classRows: Record<string, number> = {};
  const source = await store.openRead(file.uri);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-features-'));
  const local = path.join(dir, 'part.parquet');
  try {
    const writer = await ParquetFeatureWriter.open(local, {
      rowGroupSize: config.rowGroupSize,
      metadata: { 'hepflow.source': file.uri, 'hepflow.source_etag': file.etag },
    });
    let cutFlow: CutFlow;
    try {
      cutFlow = await prepareFeatures({
        events: withEntries(
          readDelphesEvents(source, { treeName: config.treeName, emptyIfMissing: config.emptyIfMissing }),
        ),
        // Placeholders: every row is labelled by its entry on the way out.
        label: 0,
        className: '',
        sourceUri: file.uri,
        out: labelled(writer, labelOf, classRows),
        // The writer copies each row into its row-group columns as it comes
        // (test/physics-native.test.ts holds it to that).
        sinkCopiesRows: true,
        onProgress,
      });
    } catch (e) {
      await writer.abort(e as Error);
      throw e;
    }
    const { rows } = await writer.close();
    await store.moveIn(outUri, local);
    return { rows, cutFlow, classRows };
  } finally {
    await source.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * writeFeatureFile, content-addressed: the part's name derives from the input's URI,
 * ETag and size and the feature configuration, and a commit record written after the
 * part marks it complete, so a rerun skips finished files and a crash mid-write leaves
 * nothing that looks complete.
 */
export async function prepareFilePart(
  store: Storage,
  input: PrepareFileFeaturesInput,
  onProgress: (cutFlow: Readonly<CutFlow>) => void = () => {},
): Promise<PrepareFileFeaturesResult> {
  const key = derivedKey(input.file, featureConfig(input));
  const partUri = fanOutFiles(input.outputUri).part(key, '.parquet');
  const commitUri = commitUriOf(partUri);
  const done = await readCommitted<FeaturePartMeta>(store, commitUri);
  if (done) return { partUri, rows: done.meta.rows, reused: true, counters: partCounters(done.meta) };
  const { rows, cutFlow, classRows } = await writeFeatureFile(store, input.file, input, partUri, onProgress);
  const meta: FeaturePartMeta = {
    source: input.file,
    rows,
    cutFlow,
    classRows,
    featureVersion: FEATURE_DEFINITION_VERSION,
  };
  await commit<FeaturePartMeta>(store, commitUri, partUri, meta);
  return { partUri, rows, reused: false, counters: partCounters(meta) };
}

const partCounters = (m: FeaturePartMeta): Record<string, number> => ({
  ...m.cutFlow,
  rows: m.rows,
  ...Object.fromEntries(Object.entries(m.classRows ?? {}).map(([c, n]) => [`class:${c}`, n])),
});

/** The commit record beside a part (see prepareFilePart). */
export const commitUriOf = (partUri: string): string => partUri.replace(/\.parquet$/, '.commit.json');
