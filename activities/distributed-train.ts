/**
 * Activities of distributed data-parallel training (src/ml/distributed/: plan.ts,
 * shard-job.ts, epoch-job.ts), each in a pooled worker thread. A shard heartbeats its
 * progress while it trains; a crash or a heartbeat timeout retries it from the round's
 * starting parameters, possibly on another worker, and a cancelled workflow stops every
 * shard between batches. They take no dependencies: a thread cannot share the worker's
 * store, so each thread builds one of its own (with the worker's runtime settings).
 */
import { Context } from '@temporalio/activity';
import { runJobInThread } from '../src/ml/training/threads.js';
import type {
  AggregateInput,
  AggregateResult,
  FinishEpochInput,
  RoundDone,
  ShardInput,
  ShardResult,
  ValidatePartInput,
  ValidatePartResult,
} from '../src/contract/distributed-rounds.js';
import type { DistributedPlanInput, PlanResult } from '../src/ml/distributed/plan.js';
import { trainingFailure } from './training-failure.js';
import { interruptible } from './heartbeat.js';

function threadOptions(what: string, progress: { last?: unknown }) {
  const ctx = Context.current();
  return {
    signal: ctx.cancellationSignal,
    onProgress: (p: { batch: number; loss: number; samples: number }) => {
      progress.last = p;
      ctx.heartbeat(p);
    },
    log: (m: string) => ctx.log.info(`${what}: ${m}`),
  };
}

/**
 * Runs a job, heartbeating every second from this (free) event loop as well as on each
 * training step: loading parameters and rows, validation and a loaded machine can keep
 * a thread from reporting progress for a while, but a live process must never look
 * dead. The SDK throttles what actually reaches the server.
 */
async function run<T>(what: string, body: (progress: { last?: unknown }) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const progress: { last?: unknown } = {};
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(progress.last), 1000);
  try {
    return await interruptible(what, body(progress));
  } catch (e) {
    throw trainingFailure(what, e);
  } finally {
    clearInterval(beat);
  }
}

export const distributedTrainActivities = () => ({
  async planDistributedTraining(input: DistributedPlanInput): Promise<PlanResult> {
    const what = `plan ${input.runId}`;
    return run(what, (p) => runJobInThread({ kind: 'plan', input }, threadOptions(what, p)));
  },

  async trainShardRound(input: ShardInput): Promise<ShardResult> {
    const what = `round ${input.position.round} shard ${input.shard}`;
    const ctx = Context.current();
    if (ctx.info.attempt > 1)
      ctx.log.info(`${what}: attempt ${ctx.info.attempt} restarts from the round's starting parameters`);
    return run(what, (p) => runJobInThread({ kind: 'shard', input }, threadOptions(what, p)));
  },

  async aggregateRound(input: AggregateInput): Promise<AggregateResult> {
    const what = `aggregate round ${input.position.round}`;
    return run(what, (p) => runJobInThread({ kind: 'aggregate', input }, threadOptions(what, p)));
  },

  /** One part of an epoch's validation, on the pool that trains the shards. */
  async validateRoundPart(input: ValidatePartInput): Promise<ValidatePartResult> {
    const what = `validate round ${input.position.round} part ${input.part}/${input.parts}`;
    return run(what, (p) => runJobInThread({ kind: 'validate', input }, threadOptions(what, p)));
  },

  async finishEpoch(input: FinishEpochInput): Promise<RoundDone> {
    const what = `finish epoch ${input.position.epoch} (round ${input.position.round})`;
    return run(what, (p) => runJobInThread({ kind: 'finish', input }, threadOptions(what, p)));
  },
});
