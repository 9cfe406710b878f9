import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joinUri, ObjectNotFoundError, type Storage } from '../storage/index.js';
import { commit, derivedKey, readCommitted } from '../storage/content-address.js';
import { readDelphesEvents } from '../root/reader/index.js';
import { prepareFeatures, withEntries } from '../physics/prepare.js';
import { FEATURE_DEFINITION_VERSION, type CutFlow } from '../physics/features.js';
import { DELPHES_BRANCHES, EVENT_CLASSES, labelOf, type DelphesEvent, type EventClass } from '../physics/delphes-event.js';
import { ParquetFeatureWriter, type FeatureSink } from '../parquet/writer.js';
import { labelsPathFor } from '../generator/file.js';
import type { InputIdentity as FileRef } from '../storage/content-address.js';
import { InvalidInputError } from '../errors.js';

/** Where an event's class comes from. */
export type LabelSource =
  /** The generator's `<name>.labels.json` sidecar beside each file (mixed samples). */
  | { readonly from: 'sidecar' }
  /** Every event of these files is of one class (one sample per class, as in the paper). */
  | { readonly from: 'class'; readonly className: EventClass };

export interface FeatureOptions {
  readonly labels: LabelSource;
  readonly treeName?: string;
  /** Treat these missing collections (DelphesEvent keys, e.g. 'muons') as empty instead of failing the file. */
  readonly emptyIfMissing?: readonly (keyof DelphesEvent)[];
  readonly rowGroupSize?: number;
}

export interface PrepareFileFeaturesInput extends FeatureOptions {
  readonly file: FileRef;
  /** Parts and their commit records go under <outputUri>/parts/. */
  readonly outputUri: string;
}

export interface FeaturePartMeta {
  readonly source: FileRef;
  readonly rows: number;
  readonly cutFlow: CutFlow;
  readonly featureVersion: number;
}

export interface PrepareFileFeaturesResult {
  readonly partUri: string;
  /** The cut flow and the number of rows written. */
  readonly counters: CutFlow & { rows: number };
  readonly rows: number;
  readonly reused: boolean;
}

const invalid = (message: string): InvalidInputError => new InvalidInputError(message);

/** Per-entry labels for a file, checked against the tree it labels. */
async function labelsFor(store: Storage, file: FileRef, source: LabelSource): Promise<((entry: number) => number) | number> {
  if (source.from === 'class') {
    if (!EVENT_CLASSES.includes(source.className)) throw invalid(`unknown class '${source.className}' (known: ${EVENT_CLASSES.join(', ')})`);
    return labelOf(source.className);
  }
  const uri = labelsPathFor(file.uri);
  const sidecar = await store.readJson<{ labels: number[]; classes: string[] }>(uri).catch((e) => {
    if (e instanceof ObjectNotFoundError) throw invalid(`${file.uri}: no labels sidecar ${uri}; label the files with a class instead`);
    throw e;
  });
  if (sidecar.classes?.join() !== EVENT_CLASSES.join()) throw invalid(`${uri}: classes must be ${EVENT_CLASSES.join(', ')}`);
  return (entry: number) => {
    const label = sidecar.labels[entry];
    if (label === undefined) throw invalid(`${uri}: no label for entry ${entry} of ${file.uri}`);
    return label;
  };
}

/** Relabels rows per entry: prepareFeatures labels a whole file with one class. */
const relabelling = (out: FeatureSink, labelOfEntry: (entry: number) => number): FeatureSink => ({
  write: (row) => {
    const label = labelOfEntry(row.sourceEntry);
    return out.write({ ...row, label, className: EVENT_CLASSES[label]! });
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
): Promise<{ rows: number; cutFlow: CutFlow }> {
  const config = featureConfig(options);
  for (const c of config.emptyIfMissing) {
    if (!(c in DELPHES_BRANCHES)) throw invalid(`emptyIfMissing: unknown collection '${c}' (known: ${Object.keys(DELPHES_BRANCHES).join(', ')})`);
  }
  const labels = await labelsFor(store, file, options.labels);
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
        events: withEntries(readDelphesEvents(source, { treeName: config.treeName, emptyIfMissing: config.emptyIfMissing })),
        label: typeof labels === 'number' ? labels : 0,
        className: typeof labels === 'number' ? EVENT_CLASSES[labels]! : EVENT_CLASSES[0],
        sourceUri: file.uri,
        out: typeof labels === 'number' ? writer : relabelling(writer, labels),
        onProgress,
      });
    } catch (e) {
      await writer.abort(e as Error);
      throw e;
    }
    const { rows } = await writer.close();
    await store.write(outUri, createReadStream(local));
    return { rows, cutFlow };
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
  const partUri = joinUri(input.outputUri, 'parts', `${key}.parquet`);
  const commitUri = joinUri(input.outputUri, 'parts', `${key}.commit.json`);
  const done = await readCommitted<FeaturePartMeta>(store, commitUri);
  if (done) return { partUri, rows: done.meta.rows, reused: true, counters: { ...done.meta.cutFlow, rows: done.meta.rows } };
  const { rows, cutFlow } = await writeFeatureFile(store, input.file, input, partUri, onProgress);
  await commit<FeaturePartMeta>(store, commitUri, partUri, { source: input.file, rows, cutFlow, featureVersion: FEATURE_DEFINITION_VERSION });
  return { partUri, rows, reused: false, counters: { ...cutFlow, rows } };
}
