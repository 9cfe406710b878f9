/**
 * One round of distributed training as its steps are sequenced, whoever runs them: the
 * workflow through activities, tests through worker threads. Deterministic and free of
 * I/O of its own, so workflow code may import it.
 */
import type {
  AggregateInput,
  AggregateResult,
  FinishEpochInput,
  RoundDone,
  ShardInput,
  ValidatePartInput,
} from './jobs.js';
import type { RoundPosition, RoundSpan } from './shard.js';

export interface RoundSteps {
  trainShard(input: ShardInput): Promise<unknown>;
  aggregate(input: AggregateInput): Promise<AggregateResult>;
  validatePart(input: ValidatePartInput): Promise<unknown>;
  finishEpoch(input: FinishEpochInput): Promise<RoundDone>;
}

/**
 * The round's shards in parallel, their average; at an epoch's end the averaged model's
 * validation, one part per shard in parallel, and the epoch's bookkeeping.
 */
export async function runRound(
  steps: RoundSteps,
  outputUri: string,
  position: RoundPosition,
  span: RoundSpan,
): Promise<RoundDone> {
  await Promise.all(
    Array.from({ length: span.shards }, (_, shard) => steps.trainShard({ outputUri, position, span, shard })),
  );
  const r = await steps.aggregate({ outputUri, position, span });
  if (!('validationParts' in r)) return r;
  const parts = r.validationParts;
  await Promise.all(
    Array.from({ length: parts }, (_, part) => steps.validatePart({ outputUri, position, part, parts })),
  );
  return steps.finishEpoch({ outputUri, position, span, parts });
}
