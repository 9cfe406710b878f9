/**
 * scoreWorkflow: batch scoring. One `scoreFile` activity per input (ROOT files or
 * feature parts) through the per-file fan-out, then, with a selection, the efficiency
 * table and accepted list over all parts (`summarizeScores`).
 */
import { continueAsNew } from '@temporalio/workflow';
import type { ScoreOptions } from '../src/contract/fan-out.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { activitiesFor } from './activities.js';
import { runFanOut } from './file-batches.js';
import type { FanOutOptions, FanOutProgress, FanOutResult, FileTask } from '../src/contract/fan-out.js';
import { trackProgress } from './progress.js';
import { scoreInputSchema, validated } from './input-schemas.js';

export interface ScoreInput extends FanOutOptions, ScoreOptions {
  /** Prefix of the inputs: Delphes ROOT files (suffix `.root`, the default) or feature parts (suffix `.parquet`). */
  readonly inputUri: string;
  /** Parts go to <outputUri>/parts/, with the listing, batch results, manifest.json and selection/. */
  readonly outputUri: string;
  /** How long transient failures are retried (src/contract/policies.ts). */
  readonly retry?: RetrySettings;
  /** Carried across continue-as-new. */
  readonly progress?: FanOutProgress;
}

export interface ScoreResult extends FanOutResult {
  /** With a selection: selection/efficiency.json (and .csv) and selection/accepted.csv. */
  readonly efficiencyUri?: string;
  readonly acceptedUri?: string;
  readonly rows: number;
}

/**
 * Batch scoring: one `scoreFile` activity per input file (the per-file fan-out), each
 * writing a content-addressed part of per-event class probabilities; then, with a
 * selection, the efficiency table and the accepted events over all parts.
 */
export async function scoreWorkflow(input: ScoreInput): Promise<ScoreResult> {
  validated(scoreInputSchema, input);
  const {
    inputUri,
    outputUri,
    progress: previous,
    batchSize,
    filesInFlight,
    batchesInFlight,
    batchesPerRun,
    suffix,
    retry,
    ...score
  } = input;
  const task: FileTask = { activity: 'scoreFile', params: { ...score, outputUri } };
  const sources = [{ uri: inputUri }];
  const tracker = trackProgress('score', { stage: 'starting', searchable: true });
  const done = await runFanOut({
    kind: 'hepflow.scores-manifest/v1',
    sources,
    outputUri,
    task,
    options: { batchSize, filesInFlight, batchesInFlight, batchesPerRun, suffix, retry },
    progress: previous,
    tracker,
    continueAsNew: (progress) => continueAsNew<typeof scoreWorkflow>({ ...input, progress }),
  });
  tracker.stage('selection');
  const summary = await activitiesFor('data', { retry }).summarizeScores({
    outputUri,
    manifestUri: done.manifestUri,
    selection: score.selection,
  });
  tracker.stage('done');
  return {
    ...done,
    rows: summary.rows,
    ...(summary.efficiencyUri ? { efficiencyUri: summary.efficiencyUri, acceptedUri: summary.acceptedUri } : {}),
  };
}
