/**
 * Activities of distributed data-parallel training (src/ml/distributed/jobs.ts), each
 * in a worker thread. A shard heartbeats its progress while it trains; a crash or a
 * heartbeat timeout retries it from the round's starting parameters, possibly on
 * another worker, and a cancelled workflow stops every shard between batches.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { AbortError } from '../src/ml/errors.js';
import { runJobInThread } from '../src/ml/distributed/thread.js';
import type {
  AggregateInput, AggregateResult, DistributedPlanInput, PlanResult, ShardInput, ShardResult,
} from '../src/ml/distributed/jobs.js';
import { nonRetryable } from './file-batches.js';

function threadOptions(what: string) {
  const ctx = Context.current();
  return {
    signal: ctx.cancellationSignal,
    onProgress: (p: { batch: number; loss: number; samples: number }) => ctx.heartbeat(p),
    log: (m: string) => ctx.log.info(`${what}: ${m}`),
  };
}

async function run<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof AbortError) throw ApplicationFailure.create({ message: `${what} cancelled`, type: 'Cancelled', nonRetryable: true });
    throw nonRetryable(e);
  }
}

export async function planDistributedTraining(input: DistributedPlanInput): Promise<PlanResult> {
  return run(`plan ${input.runId}`, () => runJobInThread({ kind: 'plan', input }, threadOptions(`plan ${input.runId}`)));
}

export async function trainShardRound(input: ShardInput): Promise<ShardResult> {
  const what = `round ${input.position.round} shard ${input.shard}`;
  const ctx = Context.current();
  if (ctx.info.attempt > 1) ctx.log.info(`${what}: attempt ${ctx.info.attempt} restarts from the round's starting parameters`);
  return run(what, () => runJobInThread({ kind: 'shard', input }, threadOptions(what)));
}

export async function aggregateRound(input: AggregateInput): Promise<AggregateResult> {
  const what = `aggregate round ${input.position.round}`;
  return run(what, () => runJobInThread({ kind: 'aggregate', input }, threadOptions(what)));
}
