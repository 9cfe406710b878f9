/**
 * The features stage in this process, without Temporal (`hepflow features`): the same
 * parts and the same manifest as featuresWorkflow, file after file.
 */
import type { Storage } from '../storage/index.js';
import { fanOutFiles } from '../contract/run-layout.js';
import { isInputVerdict } from '../errors.js';
import { featureOutcomeProblem, resolveSamples, type OutcomeProblem, type SampleInput } from '../contract/samples.js';
import { listSources } from './listing.js';
import { prepareFilePart, type FeatureOptions, type PrepareFileFeaturesResult } from './features.js';
import { addToSample, addTotals, totalsOf, ZERO_TOTALS } from '../contract/tally.js';
import type { FileResult, FileTask, InputSource, SampleTally } from '../contract/fan-out.js';
import type { CutFlow } from '../physics/features.js';

export interface LocalFeaturesInput extends Omit<FeatureOptions, 'labels'> {
  readonly samples: readonly SampleInput[];
  /** Parts under <outputUri>/parts/, and manifest.json: the layout featuresWorkflow writes. */
  readonly outputUri: string;
  readonly allowFailedFiles?: boolean;
}

export interface LocalFeaturesResult {
  readonly manifestUri: string;
  readonly classes: readonly string[];
  readonly perSample: readonly SampleTally[];
  /** Why a dataset cannot be built from this run (see featureOutcomeProblem). */
  readonly problem: OutcomeProblem | undefined;
}

/**
 * The features stage in this process, file after file, without Temporal: the same
 * parts and the same manifest as featuresWorkflow, so `hepflow dataset` builds on
 * either.
 */
export async function runFeaturesLocally(
  store: Storage,
  input: LocalFeaturesInput,
  onFile: (file: string, cutFlow: Readonly<CutFlow> | undefined) => void = () => {},
): Promise<LocalFeaturesResult> {
  const { samples: given, outputUri, allowFailedFiles = false, ...features } = input;
  const { samples, classes } = resolveSamples(given, 'samples', 1);
  const sources: InputSource[] = samples.flatMap((s, sample) => s.uris.map((uri) => ({ uri, sample, name: s.name })));
  const task: FileTask = {
    activity: 'prepareFileFeatures',
    params: { ...features, outputUri, labels: samples.map((s) => s.labels) },
  };
  const startedAt = new Date().toISOString();
  const files: FileResult<PrepareFileFeaturesResult>[] = [];
  let perSample: SampleTally[] = [];
  let totals = ZERO_TOTALS;
  for await (const file of listSources(store, sources, '.root')) {
    let r: FileResult<PrepareFileFeaturesResult>;
    try {
      const outcome = await prepareFilePart(
        store,
        { ...features, file, outputUri, labels: samples[file.sample!]!.labels },
        (cf) => onFile(file.uri, cf),
      );
      r = { status: 'ok', file, outcome };
    } catch (e) {
      // Only a verdict on the file is recorded, as the workflow does; anything else stops the run.
      if (!isInputVerdict(e)) throw e;
      r = { status: 'failed', file, error: e.message, errorType: e.name };
    }
    onFile(file.uri, undefined);
    files.push(r);
    perSample = addToSample(perSample, r);
    totals = addTotals(totals, totalsOf(r));
  }
  const manifestUri = fanOutFiles(outputUri).manifest;
  await store.writeJson(manifestUri, {
    kind: 'hepflow.features-manifest/v2',
    sources,
    outputUri,
    task,
    totals,
    perSample,
    startedAt,
    classes,
    samples: samples.map((s) => ({ name: s.name, className: s.labels.from === 'class' ? s.labels.className : null })),
    allowFailedFiles,
    finishedAt: new Date().toISOString(),
    files,
  });
  return {
    manifestUri,
    classes,
    perSample,
    problem: featureOutcomeProblem(samples, classes, perSample, allowFailedFiles),
  };
}
