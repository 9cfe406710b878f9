/**
 * Which rows each worker of a distributed training trains on, as pure functions of the
 * plan, the round's position in its epoch and the number of workers: no assignment is
 * stored, so a retried shard (possibly on another machine) reads exactly the rows the
 * first attempt read, and the number of workers may change from one round to the next.
 *
 * The unit of sharding is a Parquet row group (read on its own with ranged reads). Each
 * epoch visits every row group once, in an order shuffled from (seed, epoch); a round
 * takes the next `workers × groupsPerWorker` groups of that order and deals them out in
 * contiguous blocks.
 *
 * Also the round's steps as the workflow sequences them (runRound) and what each step
 * takes and returns. Pure and free of I/O: the workflow computes rounds with it too.
 */
import type { EpochMetrics, TrainRunResult } from './training.js';

export interface RowGroupRef {
  /** Index into the plan's files. */
  readonly file: number;
  readonly group: number;
  readonly rows: number;
}

/** Where a round starts within training: written with the round's starting parameters. */
export interface RoundPosition {
  /** Global round counter over the whole run (0-based). */
  readonly round: number;
  /** 0-based epoch the round belongs to (== epochs when training is complete). */
  readonly epoch: number;
  /** Row groups of this epoch's order already trained on. */
  readonly cursor: number;
}

export interface RoundSpan {
  /** Row groups this round trains on (the slice [cursor, cursor + take) of the epoch's order). */
  readonly take: number;
  /** Shards actually used: never more than the groups available. */
  readonly shards: number;
  /** Whether the round finishes its epoch. */
  readonly endsEpoch: boolean;
}

export function roundSpan(p: RoundPosition, totalGroups: number, workers: number, groupsPerWorker: number): RoundSpan {
  if (!(Number.isInteger(workers) && workers >= 1))
    throw new Error(`workers must be a positive integer, got ${workers}`);
  if (!(Number.isInteger(groupsPerWorker) && groupsPerWorker >= 1))
    throw new Error(`groupsPerWorker must be a positive integer, got ${groupsPerWorker}`);
  const left = totalGroups - p.cursor;
  if (left <= 0)
    throw new Error(`round ${p.round}: epoch ${p.epoch} has no row groups left (cursor ${p.cursor} of ${totalGroups})`);
  const take = Math.min(left, workers * groupsPerWorker);
  return { take, shards: Math.min(workers, take), endsEpoch: take === left };
}

/** The position after a round of `span`. */
export function nextPosition(p: RoundPosition, span: RoundSpan): RoundPosition {
  return span.endsEpoch
    ? { round: p.round + 1, epoch: p.epoch + 1, cursor: 0 }
    : { round: p.round + 1, epoch: p.epoch, cursor: p.cursor + span.take };
}

/** A permutation of 0..n-1 (Fisher–Yates) driven by `random` in [0, 1). */
export function permutation(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Indices (into the epoch order) of shard `shard`'s row groups: a contiguous block of
 * the round's slice, sizes differing by at most one group.
 */
export function shardSlice(p: RoundPosition, span: RoundSpan, shard: number): { from: number; to: number } {
  if (!(Number.isInteger(shard) && shard >= 0 && shard < span.shards))
    throw new Error(`shard ${shard} outside 0..${span.shards - 1}`);
  return {
    from: p.cursor + Math.floor((shard * span.take) / span.shards),
    to: p.cursor + Math.floor(((shard + 1) * span.take) / span.shards),
  };
}

/**
 * Row groups per worker and round for about `localSteps` optimizer steps of `batchSize`
 * rows on each worker (at least one group).
 */
export function groupsForSteps(localSteps: number, batchSize: number, groups: readonly RowGroupRef[]): number {
  const meanRows = groups.reduce((s, g) => s + g.rows, 0) / Math.max(1, groups.length);
  return Math.max(1, Math.round((localSteps * batchSize) / Math.max(1, meanRows)));
}

/**
 * The learning rate of a round (linear scaling rule): each round averages `shards`
 * workers' steps of batch B, i.e. one step of batch shards·B per local step, so the
 * rate grows with the workers, ramping up linearly from the single-worker rate over the
 * first `warmupEpochs` epochs, where large rates diverge most easily.
 */
export function roundLearningRate(
  base: number,
  shards: number,
  p: RoundPosition,
  totalGroups: number,
  warmupEpochs: number,
): number {
  const progress = warmupEpochs > 0 ? (p.epoch + p.cursor / totalGroups) / warmupEpochs : 1;
  return base * (progress >= 1 ? shards : 1 + (shards - 1) * progress);
}

/** Totals over the run, for the communication share (seconds on the critical path). */
export interface RunTotals {
  readonly rounds: number;
  readonly samples: number;
  /** Σ over rounds of the slowest shard's training time. */
  readonly computeSeconds: number;
  /** Σ over rounds of the slowest shard's parameter download + upload. */
  readonly exchangeSeconds: number;
  /** Σ over rounds of the slowest shard's backend and model set-up (building the graph, its initialisers). */
  readonly setupSeconds: number;
  /** Σ over rounds of the aggregation step, validation excluded. */
  readonly aggregateSeconds: number;
  /** Σ of per-epoch validation passes. */
  readonly validationSeconds: number;
}

/** What single-worker training returns, and how the distributed run got there. */
export interface DistributedTrainResult extends TrainRunResult {
  readonly bestEpoch: number;
  /** Shards per round, in round order, run-length encoded as [shards, rounds] pairs. */
  readonly workersPerRound: readonly (readonly [number, number])[];
  readonly totals: RunTotals;
}

export interface ShardInput {
  readonly outputUri: string;
  readonly position: RoundPosition;
  readonly span: RoundSpan;
  readonly shard: number;
}

export interface ShardResult {
  readonly round: number;
  readonly shard: number;
  readonly samples: number;
  readonly lossSum: number;
  readonly steps: number;
  /** Downloading the start parameters and uploading the result. */
  readonly exchangeSeconds: number;
  /** Reading rows and training. */
  readonly computeSeconds: number;
  /** Backend initialisation and building the model. */
  readonly setupSeconds: number;
  /** True when a previous attempt had already completed this shard. */
  readonly reused: boolean;
}

export interface AggregateInput {
  readonly outputUri: string;
  readonly position: RoundPosition;
  readonly span: RoundSpan;
}

/** A round that is complete: its successor's start is stored. */
export interface RoundDone {
  readonly next: RoundPosition;
  readonly epochMetrics?: EpochMetrics | undefined;
  readonly result?: DistributedTrainResult | undefined;
}

/**
 * What aggregating a round leads to: the next round, or (at an epoch's end) validating
 * the averaged parameters in `validationParts` parts, then finishEpoch.
 */
export type AggregateResult = RoundDone | { readonly validationParts: number };

export interface ValidatePartInput {
  readonly outputUri: string;
  readonly position: RoundPosition;
  readonly part: number;
  readonly parts: number;
}

export interface ValidatePartResult {
  readonly part: number;
  readonly samples: number;
  /** Σ of the rows' cross-entropy: parts combine to the mean weighted by rows. */
  readonly lossSum: number;
  readonly seconds: number;
  readonly reused: boolean;
}

export interface FinishEpochInput extends AggregateInput {
  readonly parts: number;
}

/** The steps of a round, whoever runs them: the workflow through activities, tests through worker threads. */
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
