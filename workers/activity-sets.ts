import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { Pool } from '../src/contract/task-queues.js';

/**
 * Which activities each pool serves, built over the worker's store and environment. The
 * CPU pool runs the data stages; the GPU pool runs only what benefits from an
 * accelerator, so GPU machines never pick up I/O work.
 */
export function activitiesFor(pool: Pool, deps: ActivityDeps): Record<string, (...args: never[]) => Promise<unknown>> {
  const all = createActivities(deps);
  const { describeWorker, trainModel, trainTrialRung, trainShardRound, validateRoundPart } = all;
  // A distributed training's shards, its validation parts and a study's trials go where a single training would go.
  if (pool === 'gpu') return { describeWorker, trainModel, trainTrialRung, trainShardRound, validateRoundPart };
  return all;
}
