import { continueAsNew } from '@temporalio/workflow';
import type { FeatureOptions } from '../src/stages/features.js';
import { fanOutDone, fanOutStep, finishFanOut } from './file-batches.js';
import type { FanOutOptions, FanOutProgress, FanOutResult, FileTask } from './file-batches-types.js';

export interface FeaturesInput extends FanOutOptions, FeatureOptions {
  /** Prefix under which the Delphes ROOT files are. */
  readonly inputUri: string;
  /** Parts go to <outputUri>/parts/, with the listing, batch results and manifest.json. */
  readonly outputUri: string;
  /** Carried across continue-as-new. */
  readonly progress?: FanOutProgress;
}

/**
 * Event selection and feature preparation: one `prepareFileFeatures` activity per ROOT
 * file, each writing one Parquet part. The result's counters are the summed cut flow
 * (read, withTrack, withPhoton, withNeutralHadron, withIsolatedLepton, rows).
 */
export async function featuresWorkflow(input: FeaturesInput): Promise<FanOutResult> {
  const { inputUri, outputUri, progress: previous, batchSize, filesInFlight, batchesInFlight, batchesPerRun, suffix, ...features } = input;
  const task: FileTask = { activity: 'prepareFileFeatures', params: { ...features, outputUri } };
  const progress = await fanOutStep(inputUri, outputUri, task, { batchSize, filesInFlight, batchesInFlight, batchesPerRun, suffix }, previous);
  if (!fanOutDone(progress)) await continueAsNew<typeof featuresWorkflow>({ ...input, progress });
  return finishFanOut('hepflow.features-manifest/v1', inputUri, outputUri, task, progress);
}
