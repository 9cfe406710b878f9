/**
 * A round's two middle steps. trainShard: K local Adam steps on one worker's row groups
 * from the round's starting parameters, the result stored under (round, shard).
 * aggregateRound: the sample-weighted mean of the shards' weights and Adam moments
 * becomes the next round's start, or, at an epoch's end, awaits validation
 * (epoch-job.ts). Both return what a previous attempt completed.
 */
import type { Storage } from '../../storage/index.js';
import { AbortError, TrainingDivergedError } from '../../errors.js';
import {
  nextPosition,
  permutation,
  roundLearningRate,
  roundSpan,
  shardSlice,
  type AggregateInput,
  type AggregateResult,
  type RoundPosition,
  type RoundSpan,
  type RowGroupRef,
  type RunTotals,
  type ShardInput,
  type ShardResult,
} from '../../contract/distributed-rounds.js';
import { initBackend } from '../backend.js';
import {
  disposeBatch,
  isValidationRow,
  makeBatch,
  mulberry32,
  ownedRow,
  shuffleRows,
  type TrainingRow,
} from '../data.js';
import { buildModel } from '../models.js';
import { makeTrainStep, type TrainStep } from '../training/step.js';
import { averageStates, type TensorSpec } from './params.js';
import { runLayout } from './layout.js';
import {
  advance,
  batchOptions,
  checkRound,
  completedRound,
  groupRows,
  loadIntoModel,
  modelTensors,
  readJsonIfExists,
  readParameters,
  readPlan,
  readStart,
  seedOf,
  writeParameters,
  type JobHooks,
  type Plan,
  type StartState,
  type StoredParameters,
} from './round-state.js';

/** result.json of a shard: its summary and the specs of its tensors. */
type StoredShard = Omit<ShardResult, 'reused'> & {
  weightSpecs: readonly TensorSpec[];
  optimizerSpecs?: readonly TensorSpec[] | undefined;
};

/** The row groups of one shard in one round, in the order they are read. */
export function shardGroups(
  plan: Pick<Plan, 'groups' | 'config'>,
  position: RoundPosition,
  span: RoundSpan,
  shard: number,
): RowGroupRef[] {
  const order = permutation(plan.groups.length, mulberry32(seedOf(plan.config.seed, position.epoch)));
  const { from, to } = shardSlice(position, span, shard);
  return order.slice(from, to).map((i) => plan.groups[i]!);
}

/** Local steps over `rows` in batches of the plan's size; the last batch may be short. */
async function localSteps(
  plan: Plan,
  step: TrainStep,
  rows: AsyncIterable<TrainingRow>,
  hooks: JobHooks,
  where: string,
): Promise<{ samples: number; lossSum: number; steps: number }> {
  const o = batchOptions(plan);
  let batch: TrainingRow[] = [];
  let samples = 0,
    lossSum = 0,
    steps = 0;
  const train = () => {
    if (hooks.shouldStop?.()) throw new AbortError(`${where} cancelled`);
    const b = makeBatch(batch, o, `${plan.datasetUri} ${where}`);
    try {
      const loss = step(b.inputs, b.labels);
      if (!Number.isFinite(loss))
        throw new TrainingDivergedError(`${where}: training diverged: loss ${loss} at step ${steps}`);
      lossSum += loss * b.size;
      samples += b.size;
      steps++;
      hooks.onProgress?.({ batch: steps, loss, samples });
    } finally {
      disposeBatch(b);
    }
    batch = [];
  };
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === plan.config.batchSize) train();
  }
  if (batch.length > 0) train();
  return { samples, lossSum, steps };
}

export async function trainShard(input: ShardInput, hooks: JobHooks): Promise<ShardResult> {
  const { store } = hooks;
  const { round } = input.position;
  const at = runLayout(input.outputUri).shard(round, input.shard);
  const where = `round ${round} shard ${input.shard}`;
  const done = await readJsonIfExists<Omit<ShardResult, 'reused'>>(store, at.result);
  if (done !== undefined) return { ...done, reused: true };
  const t0 = performance.now();
  const plan = await readPlan(store, input.outputUri);
  const start = await readStart(store, input.outputUri, round);
  checkRound(start.state, input.position, where);
  const span = roundSpan(input.position, plan.groups.length, input.span.shards, plan.groupsPerWorker);
  if (span.take !== input.span.take || span.shards !== input.span.shards || span.endsEpoch !== input.span.endsEpoch) {
    throw new Error(
      `${where}: the round's span ${JSON.stringify(input.span)} does not follow from the plan (${JSON.stringify(span)})`,
    );
  }
  let exchangeSeconds = (performance.now() - t0) / 1000;
  const tSetup = performance.now();
  await initBackend(plan.config.backend, { log: hooks.log ?? (() => undefined) });
  const { learningRate: base } = plan.config.model;
  const learningRate = roundLearningRate(base, span.shards, input.position, plan.groups.length, plan.warmupEpochs);
  const model = buildModel({ ...plan.config.model, learningRate });
  try {
    await loadIntoModel(model, start.weights, start.optimizer, `${input.outputUri} ${where}`);
    const step = makeTrainStep(model);
    const refs = shardGroups(plan, input.position, input.span, input.shard);
    const rows = shuffleRows(
      groupRows(store, plan, refs, (row) => !isValidationRow(row, -1, plan.config.split)),
      plan.config.shuffleBuffer,
      mulberry32(seedOf(plan.config.seed, round, input.shard, 1)),
      ownedRow,
    );
    const t1 = performance.now();
    const setupSeconds = (t1 - tSetup) / 1000;
    const trained = await localSteps(plan, step, rows, hooks, where);
    await step.sync();
    const computeSeconds = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    const out = await modelTensors(model);
    await store.write(at.weights, out.weights.data);
    if (out.optimizer !== undefined) await store.write(at.optimizer, out.optimizer.data);
    exchangeSeconds += (performance.now() - t2) / 1000;
    const summary = { round, shard: input.shard, ...trained, exchangeSeconds, computeSeconds, setupSeconds };
    const stored: StoredShard = { ...summary, weightSpecs: out.weights.specs, optimizerSpecs: out.optimizer?.specs };
    await store.write(at.result, JSON.stringify(stored));
    return { ...summary, reused: false };
  } finally {
    model.dispose();
  }
}

/** Appends a round of `shards` to the run-length encoded workers per round. */
function withRound(workersPerRound: readonly [number, number][], shards: number): [number, number][] {
  const out = workersPerRound.map((p) => [...p] as [number, number]);
  const lastRun = out[out.length - 1];
  if (lastRun !== undefined && lastRun[0] === shards) lastRun[1]++;
  else out.push([shards, 1]);
  return out;
}

/**
 * The sample-weighted mean of the round's shard results and the run's state after it
 * (position, totals, the epoch's running loss), before any validation.
 */
async function averageRound(store: Storage, input: AggregateInput): Promise<StoredParameters<StartState>> {
  const t0 = performance.now();
  const layout = runLayout(input.outputUri);
  const { round } = input.position;
  const where = `${input.outputUri} round ${round}`;
  const { state } = await readStart(store, input.outputUri, round);
  checkRound(state, input.position, where);
  const shards = await Promise.all(
    Array.from({ length: input.span.shards }, async (_, k) => {
      const at = layout.shard(round, k);
      const r = await readJsonIfExists<StoredShard>(store, at.result);
      if (r === undefined) throw new Error(`${where}: shard ${k} has no result`);
      return { r, ...(await readParameters(store, r, at)), samples: r.samples };
    }),
  );
  const avg = averageStates(shards, where);
  const samples = shards.reduce((s, x) => s + x.samples, 0);
  const slowest = (f: (r: StoredShard) => number) => Math.max(...shards.map((s) => f(s.r)));
  const computeSeconds = slowest((r) => r.computeSeconds);
  const t = state.totals;
  const totals: RunTotals = {
    ...t,
    rounds: t.rounds + 1,
    samples: t.samples + samples,
    computeSeconds: t.computeSeconds + computeSeconds,
    exchangeSeconds: t.exchangeSeconds + slowest((r) => r.exchangeSeconds),
    setupSeconds: t.setupSeconds + slowest((r) => r.setupSeconds),
    aggregateSeconds: t.aggregateSeconds + (performance.now() - t0) / 1000,
  };
  return {
    state: {
      ...state,
      position: nextPosition(input.position, input.span),
      totals,
      workersPerRound: withRound(state.workersPerRound, input.span.shards),
      epochLossSum: state.epochLossSum + shards.reduce((s, x) => s + x.r.lossSum, 0),
      epochSamples: state.epochSamples + samples,
      epochSeconds: state.epochSeconds + computeSeconds,
      weightSpecs: avg.weights.specs,
      optimizerSpecs: avg.optimizer?.specs,
    },
    ...avg,
  };
}

/**
 * Averages a round's shards into the next round's start. At an epoch's end the average
 * is stored aside instead, to be validated in parts on the training pool (validatePart)
 * and then completed by finishEpoch: one worker would otherwise read the whole
 * training file for its held-out rows every epoch.
 */
export async function aggregateRound(input: AggregateInput, hooks: JobHooks): Promise<AggregateResult> {
  const { store } = hooks;
  const done = await completedRound(store, input.outputUri, input);
  if (done !== undefined) return done;
  const { round } = input.position;
  if (input.span.endsEpoch) {
    const at = runLayout(input.outputUri).average(round);
    if (!(await store.head(at.state)))
      await writeParameters(store, { ...at, marker: at.state }, await averageRound(store, input));
    return { validationParts: input.span.shards };
  }
  await advance(store, input.outputUri, round, await averageRound(store, input));
  return { next: nextPosition(input.position, input.span) };
}
