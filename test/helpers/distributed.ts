import { runJobInThread } from '../../src/ml/training/threads.js';
import {
  roundSpan,
  runRound,
  type DistributedTrainResult,
  type RoundPosition,
  type RoundSteps,
} from '../../src/contract/distributed-rounds.js';
import type { TrainConfig } from '../../src/ml/training/config.js';

const quiet = { log: () => undefined };

/** The steps of a round in worker threads of this process, as the activities run them. */
const threadSteps: RoundSteps = {
  trainShard: (input) => runJobInThread({ kind: 'shard', input }, quiet),
  aggregate: (input) => runJobInThread({ kind: 'aggregate', input }, quiet),
  validatePart: (input) => runJobInThread({ kind: 'validate', input }, quiet),
  finishEpoch: (input) => runJobInThread({ kind: 'finish', input }, quiet),
};

/**
 * A whole distributed training driven round by round as the workflow drives it, without
 * Temporal; `workersAt(round)` may change the worker count per round.
 */
export async function trainInThreads(o: {
  datasetUri: string;
  outputUri: string;
  config: TrainConfig;
  workersAt: (round: number) => number;
  localSteps: number;
}): Promise<DistributedTrainResult> {
  const plan = await runJobInThread(
    {
      kind: 'plan',
      input: {
        runId: 'd',
        datasetUri: o.datasetUri,
        outputUri: o.outputUri,
        config: o.config,
        localSteps: o.localSteps,
        warmupEpochs: 1,
      },
    },
    quiet,
  );
  let at: RoundPosition = plan.position;
  for (;;) {
    const r = await runRound(
      threadSteps,
      o.outputUri,
      at,
      roundSpan(at, plan.totalGroups, o.workersAt(at.round), plan.groupsPerWorker),
    );
    if (r.result) return r.result;
    at = r.next;
  }
}
