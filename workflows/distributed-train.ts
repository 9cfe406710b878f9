/**
 * distributedTrainWorkflow: one model trained data-parallel by N workers of a pool, in
 * rounds of shard activities and one aggregation each; resumes from the newest complete
 * round. Answers the `status` query and takes the `setWorkers` signal; the round logic
 * itself is src/ml/distributed.
 */
import { continueAsNew, defineQuery, defineSignal, log, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { TrainConfig } from '../src/ml/training/config.js';
import type { TrainSpec } from '../src/stages/train-spec.js';
import {
  roundSpan,
  runRound,
  type DistributedTrainResult,
  type RoundPosition,
  type RoundSteps,
} from '../src/contract/distributed-rounds.js';
import { GPU_TASK_QUEUE, type Pool } from '../src/contract/task-queues.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { activitiesFor } from './activities.js';
import { distributedTrainInputSchema, validated } from './input-schemas.js';
import { trackProgress } from './progress.js';
import { withoutUndefined } from '../src/contract/defined.js';

export interface DistributedTrainInput {
  readonly runId: string;
  /** A dataset from the dataset workflow (train.parquet, scaler.json, metadata.json). */
  readonly datasetUri: string;
  /** Round state under <outputUri>/distributed/, the model in <outputUri>/model/. */
  readonly outputUri: string;
  /** The model and training settings: a full TrainConfig (as the CLI and the grid search pass), or */
  readonly config?: TrainConfig;
  /** a spec over the reference defaults, resolved for the dataset's classes: `{ kind, model?, training? }`. */
  readonly spec?: TrainSpec;
  /** Workers (shards) per round; may change between rounds (signal setWorkers). */
  readonly workers: number;
  /** About how many optimizer steps each worker takes between synchronisations (default 64). */
  readonly localSteps?: number;
  /** Epochs over which the learning rate ramps up to workers × the configured rate (default 1; see docs/distributed.md). */
  readonly warmupEpochs?: number;
  /** Which pool trains the shards: 'cpu' (this workflow's queue) or 'gpu'. */
  readonly pool?: Pool;
  readonly gpuTaskQueue?: string;
  /** How long a silent shard may go before Temporal retries it elsewhere (crash detection). */
  readonly heartbeatTimeout?: Duration;
  /** How long transient failures are retried (src/contract/policies.ts). */
  readonly retry?: RetrySettings;
  /** Rounds per workflow run before continue-as-new keeps the history bounded (default 100). */
  readonly roundsPerRun?: number;
  /** Set by continue-as-new: the epoch the run had reached when this workflow chain started. */
  readonly resumedFromEpoch?: number;
}

export interface DistributedTrainStatus {
  readonly position: RoundPosition | undefined;
  readonly workers: number;
  /** Known once the run is planned. */
  readonly epochs: number | undefined;
}

export const setWorkersSignal = defineSignal<[number]>('setWorkers');
export const statusQuery = defineQuery<DistributedTrainStatus>('status');

/**
 * One model trained by many workers: synchronous rounds of local SGD. Each round every
 * shard activity runs about `localSteps` Adam steps on its row groups from the round's
 * starting parameters, then one aggregation averages the shards' weights and Adam
 * moments (weighted by rows) into the next round's start, which is also the checkpoint.
 * Everything large lives in object storage; the history carries round numbers and a
 * few figures, and continue-as-new bounds it. A rerun with the same output resumes from
 * the newest complete round.
 */
export async function distributedTrainWorkflow(input: DistributedTrainInput): Promise<DistributedTrainResult> {
  validated(distributedTrainInputSchema, input);
  const valid = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  let workers = input.workers;
  let position: RoundPosition | undefined;
  let epochs: number | undefined;
  // A bad signal must not fail the run: it is ignored, the run goes on with its workers.
  setHandler(setWorkersSignal, (n) => {
    if (valid(n)) workers = n;
    else log.warn(`setWorkers ignored: ${JSON.stringify(n)} is not a positive integer`);
  });
  setHandler(statusQuery, () => ({ position, workers, epochs }));
  const tracker = trackProgress('distributed-train', { stage: 'planning', searchable: false, model: input.runId });

  const ops = activitiesFor('data', { retry: input.retry });
  const shardQueue = input.pool === 'gpu' ? (input.gpuTaskQueue ?? GPU_TASK_QUEUE) : undefined;
  // A retry redoes only this shard's round, from the round's stored starting parameters;
  // the epoch's validation parts run on the same pool.
  const shards = activitiesFor('training', {
    retry: input.retry,
    ...(shardQueue ? { taskQueue: shardQueue } : {}),
    ...withoutUndefined({ heartbeatTimeout: input.heartbeatTimeout }),
  });

  const steps: RoundSteps = {
    trainShard: shards.trainShardRound,
    aggregate: ops.aggregateRound,
    validatePart: shards.validateRoundPart,
    finishEpoch: ops.finishEpoch,
  };

  // A spec is resolved for the dataset's classes as a grid search's single point is.
  const config =
    input.config ??
    (await ops.planGridSearch({ grid: {}, spec: input.spec!, datasetUri: input.datasetUri }))[0]!.config;
  const plan = await ops.planDistributedTraining({
    runId: input.runId,
    datasetUri: input.datasetUri,
    outputUri: input.outputUri,
    config,
    localSteps: input.localSteps ?? 64,
    warmupEpochs: input.warmupEpochs ?? 1,
  });
  epochs = plan.epochs;
  const resumedFromEpoch = input.resumedFromEpoch ?? plan.position.epoch;
  if (plan.result !== undefined) return { ...plan.result, resumedFromEpoch };
  let at: RoundPosition = plan.position;
  const roundsPerRun = input.roundsPerRun ?? 100;
  tracker.stage('training');
  for (let rounds = 0; ; rounds++) {
    position = at;
    tracker.update({ epoch: { done: at.epoch, total: epochs, workers } });
    if (rounds === roundsPerRun)
      await continueAsNew<typeof distributedTrainWorkflow>({ ...input, workers, resumedFromEpoch });
    const span = roundSpan(at, plan.totalGroups, workers, plan.groupsPerWorker);
    const r = await runRound(steps, input.outputUri, at, span);
    if (r.result !== undefined) return { ...r.result, resumedFromEpoch };
    at = r.next;
  }
}
