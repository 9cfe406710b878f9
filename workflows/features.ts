/**
 * featuresWorkflow: the features stage on Temporal. One `prepareFileFeatures` activity
 * per input ROOT file through the per-file fan-out (file-batches.ts), one Parquet part
 * each, then the manifest; fails the run on the samples' verdicts
 * (src/contract/samples.ts).
 */
import { ApplicationFailure, continueAsNew, upsertMemo } from '@temporalio/workflow';
import type { FeatureOptions } from '../src/stages/features.js';
import { featureOutcomeProblem, resolveSamples, type SampleInput } from '../src/contract/samples.js';
import { runFanOut } from './file-batches.js';
import type { FanOutOptions, FanOutProgress, FanOutResult, FileTask, InputSource } from '../src/contract/fan-out.js';
import { featuresInputSchema, validated } from './input-schemas.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { trackProgress, upsertRunAttributes } from './progress.js';

export interface FeaturesInput extends FanOutOptions, Omit<FeatureOptions, 'labels'> {
  /** One or more per class; their order fixes the label indices. */
  readonly samples: readonly SampleInput[];
  /** Parts go to <outputUri>/parts/, with the listing, batch results and manifest.json. */
  readonly outputUri: string;
  /**
   * Go on when some (not all) files fail. Off by default: a run whose inputs did not
   * all succeed fails, naming the causes.
   */
  readonly allowFailedFiles?: boolean;
  /** Carried across continue-as-new. */
  readonly progress?: FanOutProgress;
}

export interface FeaturesResult extends FanOutResult {
  /** Class names by label index. */
  readonly classes: string[];
  readonly samples: { readonly name: string; readonly className: string | null }[];
  readonly allowFailedFiles: boolean;
}

/**
 * Event selection and feature preparation: one `prepareFileFeatures` activity per ROOT
 * file, each writing one Parquet part. The result's counters are the summed cut flow
 * (read, withTrack, withPhoton, withNeutralHadron, withIsolatedLepton, rows, and rows
 * per class as `class:<name>`); `perSample` has them per sample, with failures by cause.
 * A sample that could not be read, a class without selected events, or (unless
 * allowed) any failed file fails the stage here, after the manifest is written.
 */
export async function featuresWorkflow(input: FeaturesInput): Promise<FeaturesResult> {
  validated(featuresInputSchema, input);
  const {
    samples: given,
    outputUri,
    progress: previous,
    batchSize,
    filesInFlight,
    batchesInFlight,
    batchesPerRun,
    suffix,
    retry,
    allowFailedFiles = false,
    ...features
  } = input;
  let resolved;
  try {
    resolved = resolveSamples(given, 'input.samples', 1);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, WorkflowFailureTypes.invalidInput);
  }
  const { samples, classes } = resolved;
  const sources: InputSource[] = samples.flatMap((s, sample) => s.uris.map((uri) => ({ uri, sample, name: s.name })));
  const task: FileTask = {
    activity: 'prepareFileFeatures',
    params: { ...features, outputUri, labels: samples.map((s) => s.labels) },
  };
  const tracker = trackProgress('features', { stage: 'starting', searchable: true });
  if (!previous) {
    upsertRunAttributes({ samples: samples.map((s) => s.name) });
    upsertMemo({
      config: {
        samples: samples.map((s) => ({ name: s.name, inputs: s.uris.length })),
        classes,
        outputUri,
        allowFailedFiles,
      },
    });
  }
  const recorded = {
    classes,
    samples: samples.map((s) => ({ name: s.name, className: s.labels.from === 'class' ? s.labels.className : null })),
    allowFailedFiles,
  };
  const result = await runFanOut({
    kind: 'hepflow.features-manifest/v2',
    sources,
    outputUri,
    task,
    options: { batchSize, filesInFlight, batchesInFlight, batchesPerRun, suffix, retry },
    progress: previous,
    tracker,
    header: recorded,
    continueAsNew: (progress) => continueAsNew<typeof featuresWorkflow>({ ...input, progress }),
  });
  const problem = featureOutcomeProblem(samples, classes, result.perSample, allowFailedFiles);
  if (problem)
    throw ApplicationFailure.nonRetryable(`${problem.message} (manifest: ${result.manifestUri})`, problem.type);
  tracker.stage('done');
  return { ...result, ...recorded };
}
