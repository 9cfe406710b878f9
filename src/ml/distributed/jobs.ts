/**
 * The three steps of distributed data-parallel training (synchronous local SGD with
 * model and optimizer-state averaging through object storage):
 *
 *   planRun        once: the row groups of train.parquet, the run's settings, round 0's
 *                  starting parameters (or, for a rerun, where the run stands);
 *   trainShard     per round and worker: K local Adam steps on the worker's row groups,
 *                  from the round's starting parameters, result written under (round, shard);
 *   aggregateRound per round: the sample-weighted mean of the workers' weights and Adam
 *                  moments becomes the next round's starting parameters; at an epoch's
 *                  end validation, best-epoch selection, and after the last the model.
 *
 * Every step is idempotent: it returns what a previous attempt completed and otherwise
 * recomputes from the round's starting parameters, so a worker killed mid-round costs
 * that shard's round. These run in a worker thread (thread.ts) because tfjs is CPU-bound.
 */
import * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../../dataset/scaler.js';
import { datasetFiles } from '../../contract/run-layout.js';
import { readFeatureFileInfo, readFeatureRows } from '../../parquet/reader.js';
import { storage, ObjectNotFoundError, type Storage } from '../../storage/index.js';
import { InvalidInputError } from '../../errors.js';
import type { TrainRunResult } from '../train-runner.js';
import { datasetClasses } from '../../dataset/classes.js';
import { initBackend } from '../backend.js';
import {
  chunk,
  disposeBatch,
  isValidationRow,
  makeBatch,
  mulberry32,
  ownedRow,
  shuffleRows,
  validateParticleScaler,
  validateScaler,
  type BatchOptions,
  type TrainingRow,
} from '../data.js';
import { AbortError, CheckpointError, TrainingDivergedError } from '../errors.js';
import { buildModel, modelInputs } from '../models.js';
import {
  makeTrainStep,
  modelArtifacts,
  predictRows,
  validateTrainConfig,
  type EpochMetrics,
  type TrainConfig,
} from '../train.js';
import { classificationReport, selectionScore } from '../metrics.js';
import { averageStates, packTensors, unpackTensors, type TensorSet, type TensorSpec } from './params.js';
import { runLayout, roundOfStartState } from './layout.js';
import {
  groupsForSteps,
  nextPosition,
  permutation,
  roundLearningRate,
  roundSpan,
  shardSlice,
  type RoundPosition,
  type RoundSpan,
  type RowGroupRef,
} from './shard.js';

export interface DistributedPlanInput {
  readonly runId: string;
  readonly datasetUri: string;
  /** Round state under <outputUri>/distributed/, the model in <outputUri>/model/. */
  readonly outputUri: string;
  readonly config: TrainConfig;
  /** About how many optimizer steps each worker takes between synchronisations. */
  readonly localSteps: number;
  /** Epochs over which the learning rate ramps up to workers × the configured rate (roundLearningRate). */
  readonly warmupEpochs: number;
}

/** plan.json: everything a shard or aggregation needs besides its round. */
interface Plan {
  readonly format: 'hepflow-distributed/1';
  readonly runId: string;
  readonly datasetUri: string;
  readonly config: TrainConfig;
  readonly localSteps: number;
  readonly warmupEpochs: number;
  readonly files: readonly string[];
  readonly groups: readonly RowGroupRef[];
  readonly groupsPerWorker: number;
  readonly scaler: HlfScaler;
  readonly particleScaler?: ParticleScaler;
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

/** state.json of a round's start: the run's checkpoint. */
interface StartState {
  readonly position: RoundPosition;
  readonly history: EpochMetrics[];
  readonly best: { epoch: number; score: number; uri: string } | null;
  /** The current epoch's running loss sum, samples and critical-path seconds. */
  readonly epochLossSum: number;
  readonly epochSamples: number;
  readonly epochSeconds: number;
  readonly totals: RunTotals;
  readonly workersPerRound: [number, number][];
  readonly weightSpecs: readonly TensorSpec[];
  readonly optimizerSpecs?: readonly TensorSpec[];
  /** Present once training is complete. */
  readonly result?: DistributedTrainResult;
}

export interface PlanResult {
  readonly totalGroups: number;
  readonly groupsPerWorker: number;
  readonly epochs: number;
  /** Where the run stands: round 0 for a new run, the newest complete round for a rerun. */
  readonly position: RoundPosition;
  readonly result?: DistributedTrainResult;
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

export interface JobHooks {
  readonly shouldStop?: () => boolean;
  readonly onProgress?: (p: { batch: number; loss: number; samples: number }) => void;
  readonly log?: (message: string) => void;
  readonly store?: Storage;
}

const utf8 = new TextEncoder();
const EMPTY_TOTALS: RunTotals = {
  rounds: 0,
  samples: 0,
  computeSeconds: 0,
  exchangeSeconds: 0,
  setupSeconds: 0,
  aggregateSeconds: 0,
  validationSeconds: 0,
};

function planFingerprint(p: Pick<Plan, 'datasetUri' | 'config' | 'localSteps' | 'warmupEpochs'>): string {
  // Epochs may grow between runs, as for single-worker checkpoints.
  const { epochs: _epochs, backend: _backend, ...rest } = p.config;
  return JSON.stringify({
    datasetUri: p.datasetUri,
    config: rest,
    localSteps: p.localSteps,
    warmupEpochs: p.warmupEpochs,
  });
}

/** Mixes integers into one 32-bit seed (so (seed, epoch) and (seed, round, shard) streams differ). */
function seedOf(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

async function readJsonIfExists<T>(store: Storage, uri: string): Promise<T | undefined> {
  try {
    return await store.readJson<T>(uri);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return undefined;
    throw e;
  }
}

async function modelTensors(model: tf.LayersModel): Promise<{ weights: TensorSet; optimizer?: TensorSet }> {
  const set = async (named: { name: string; tensor: tf.Tensor }[]): Promise<TensorSet> => {
    const specs = named.map(({ name, tensor }): TensorSpec => {
      if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32')
        throw new Error(`tensor ${name} has dtype ${tensor.dtype}`);
      return { name, shape: tensor.shape, dtype: tensor.dtype };
    });
    return packTensors(
      specs,
      await Promise.all(named.map(({ tensor }) => tensor.data() as Promise<Float32Array | Int32Array>)),
    );
  };
  const values = model.getWeights();
  const weights = await set(model.weights.map((w, i) => ({ name: w.originalName, tensor: values[i]! })));
  const opt = await model.optimizer.getWeights();
  return opt.length === 0 ? { weights } : { weights, optimizer: await set(opt) };
}

async function loadIntoModel(
  model: tf.LayersModel,
  weights: TensorSet,
  optimizer: TensorSet | undefined,
  where: string,
): Promise<void> {
  const own = model.getWeights();
  if (weights.specs.length !== own.length || weights.specs.some((s, i) => s.shape.join() !== own[i]!.shape.join())) {
    throw new CheckpointError(`${where}: stored weights do not match the model's ${own.length} weight shapes`);
  }
  const values = unpackTensors(weights, `${where} weights`);
  const tensors = weights.specs.map((s, i) => tf.tensor(values[i]!, [...s.shape], s.dtype));
  model.setWeights(tensors);
  tf.dispose(tensors);
  if (optimizer !== undefined) {
    const ov = unpackTensors(optimizer, `${where} optimizer state`);
    await model.optimizer.setWeights(
      optimizer.specs.map((s, i) => ({ name: s.name, tensor: tf.tensor(ov[i]!, [...s.shape], s.dtype) })),
    );
  }
}

async function readStart(
  store: Storage,
  outputUri: string,
  round: number,
): Promise<{ state: StartState; weights: TensorSet; optimizer?: TensorSet }> {
  const at = runLayout(outputUri).start(round);
  const state = await store.readJson<StartState>(at.state);
  const weights = { specs: state.weightSpecs, data: await store.readAll(at.weights) };
  if (state.optimizerSpecs === undefined) return { state, weights };
  return { state, weights, optimizer: { specs: state.optimizerSpecs, data: await store.readAll(at.optimizer) } };
}

/** Writes a round's start: the tensors first, state.json (the completion marker) last. */
async function writeStart(
  store: Storage,
  outputUri: string,
  state: StartState,
  weights: TensorSet,
  optimizer?: TensorSet,
): Promise<void> {
  const at = runLayout(outputUri).start(state.position.round);
  await store.write(at.weights, weights.data);
  if (optimizer !== undefined) await store.write(at.optimizer, optimizer.data);
  await store.write(at.state, JSON.stringify(state));
}

function batchOptions(plan: Plan): BatchOptions {
  const c = plan.config;
  return {
    kind: c.model.kind,
    maxLen: c.model.maxLen,
    scaler: plan.scaler,
    padding: c.padding,
    nClasses: c.model.nClasses,
    ...(plan.particleScaler !== undefined ? { particleScaler: plan.particleScaler } : {}),
  };
}

async function readPlan(store: Storage, outputUri: string): Promise<Plan> {
  return store.readJson<Plan>(runLayout(outputUri).plan);
}

export async function planRun(input: DistributedPlanInput, hooks: JobHooks = {}): Promise<PlanResult> {
  const store = hooks.store ?? storage();
  const layout = runLayout(input.outputUri);
  const invalid = (m: string): never => {
    throw new InvalidInputError(m);
  };
  if (!(Number.isInteger(input.localSteps) && input.localSteps >= 1))
    invalid(`localSteps must be a positive integer, got ${input.localSteps}`);
  if (!(input.warmupEpochs >= 0)) invalid(`warmupEpochs must be ≥ 0, got ${input.warmupEpochs}`);
  const files = datasetFiles(input.datasetUri);
  // The dataset names the classes; the model's outputs must be exactly those (as for single-worker training).
  const classes = await datasetClasses(input.datasetUri, store);
  const { config } = input;
  try {
    validateTrainConfig(config);
  } catch (e) {
    invalid((e as Error).message);
  }
  if (config.classNames.join() !== classes.join()) {
    invalid(
      `training config has classes [${config.classNames.join(', ')}] but dataset ${input.datasetUri} has [${classes.join(', ')}]`,
    );
  }
  const settings = {
    datasetUri: input.datasetUri,
    config,
    localSteps: input.localSteps,
    warmupEpochs: input.warmupEpochs,
  };
  let plan = await readJsonIfExists<Plan>(store, layout.plan);
  if (plan !== undefined && planFingerprint(plan) !== planFingerprint(settings)) {
    invalid(
      `${layout.plan} was written for other settings; refusing to resume (stored ${planFingerprint(plan)}, now ${planFingerprint(settings)})`,
    );
  }
  if (plan === undefined) {
    const scaler = await store.readJson<HlfScaler>(files.scaler).catch((e) => {
      if (e instanceof ObjectNotFoundError) invalid(`dataset ${input.datasetUri} has no scaler.json`);
      throw e;
    });
    validateScaler(scaler, `dataset ${input.datasetUri}`);
    const needsParticles = modelInputs(config.model.kind).includes('particles');
    const particleScaler = needsParticles
      ? await store.readJson<ParticleScaler>(files.particleScaler).catch((e) => {
          if (e instanceof ObjectNotFoundError)
            invalid(`dataset ${input.datasetUri} has no particle-scaler.json, which ${config.model.kind} models need`);
          throw e;
        })
      : undefined;
    if (particleScaler !== undefined) validateParticleScaler(particleScaler, `dataset ${input.datasetUri}`);
    const src = await store.openRead(files.train);
    let rowGroupRows: number[];
    try {
      rowGroupRows = (await readFeatureFileInfo(src)).rowGroupRows;
    } finally {
      await src.close();
    }
    const groups = rowGroupRows.map((rows, group): RowGroupRef => ({ file: 0, group, rows }));
    if (groups.length === 0) invalid(`${files.train} has no row groups`);
    plan = {
      format: 'hepflow-distributed/1',
      runId: input.runId,
      datasetUri: input.datasetUri,
      config,
      localSteps: input.localSteps,
      warmupEpochs: input.warmupEpochs,
      files: [files.train],
      groups,
      groupsPerWorker: groupsForSteps(input.localSteps, config.batchSize, groups),
      scaler,
      ...(particleScaler !== undefined ? { particleScaler } : {}),
    };
    await store.writeJson(layout.plan, plan);
  } else {
    // More epochs than the stored run asked for: training continues where it stopped.
    plan = { ...plan, config: { ...plan.config, epochs: config.epochs, backend: config.backend } };
    await store.writeJson(layout.plan, plan);
  }
  let newest: number | undefined;
  for await (const o of store.list(layout.roundsPrefix)) {
    const r = roundOfStartState(o.uri);
    if (r !== undefined && (newest === undefined || r > newest)) newest = r;
  }
  const base = { totalGroups: plan.groups.length, groupsPerWorker: plan.groupsPerWorker, epochs: config.epochs };
  if (newest !== undefined) {
    const state = await store.readJson<StartState>(layout.start(newest).state);
    hooks.log?.(
      `[distributed] ${input.runId}: resuming at round ${newest} (epoch ${state.position.epoch}, row group ${state.position.cursor})`,
    );
    // A completed run asked for more epochs trains on; its old result no longer stands.
    const done = state.result !== undefined && state.position.epoch >= config.epochs;
    return { ...base, position: state.position, ...(done ? { result: state.result } : {}) };
  }
  await initBackend(config.backend, { log: hooks.log ?? (() => undefined) });
  const model = buildModel(config.model);
  try {
    const { weights } = await modelTensors(model);
    const position: RoundPosition = { round: 0, epoch: 0, cursor: 0 };
    await writeStart(
      store,
      input.outputUri,
      {
        position,
        history: [],
        best: null,
        epochLossSum: 0,
        epochSamples: 0,
        epochSeconds: 0,
        totals: EMPTY_TOTALS,
        workersPerRound: [],
        weightSpecs: weights.specs,
      },
      weights,
    );
    return { ...base, position };
  } finally {
    model.dispose();
  }
}

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

function checkRound(state: StartState, position: RoundPosition, where: string): void {
  const p = state.position;
  if (p.round !== position.round || p.epoch !== position.epoch || p.cursor !== position.cursor) {
    throw new Error(`${where}: the stored start is at ${JSON.stringify(p)}, asked for ${JSON.stringify(position)}`);
  }
}

export async function trainShard(input: ShardInput, hooks: JobHooks = {}): Promise<ShardResult> {
  const store = hooks.store ?? storage();
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
  const learningRate = roundLearningRate(
    plan.config.model.learningRate,
    span.shards,
    input.position,
    plan.groups.length,
    plan.warmupEpochs,
  );
  const model = buildModel({ ...plan.config.model, learningRate });
  try {
    await loadIntoModel(model, start.weights, start.optimizer, `${input.outputUri} ${where}`);
    const step = makeTrainStep(model);
    const o = batchOptions(plan);
    const refs = shardGroups(plan, input.position, input.span, input.shard);
    const rows = shuffleRows(
      groupRows(store, plan, refs, (row) => !isValidationRow(row, -1, plan.config.split)),
      plan.config.shuffleBuffer,
      mulberry32(seedOf(plan.config.seed, round, input.shard, 1)),
      ownedRow,
    );
    const t1 = performance.now();
    const setupSeconds = (t1 - tSetup) / 1000;
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
    await step.sync();
    const computeSeconds = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    const out = await modelTensors(model);
    await store.write(at.weights, out.weights.data);
    if (out.optimizer !== undefined) await store.write(at.optimizer, out.optimizer.data);
    exchangeSeconds += (performance.now() - t2) / 1000;
    const summary = {
      round,
      shard: input.shard,
      samples,
      lossSum,
      steps,
      exchangeSeconds,
      computeSeconds,
      setupSeconds,
    };
    await store.write(
      at.result,
      JSON.stringify({ ...summary, weightSpecs: out.weights.specs, optimizerSpecs: out.optimizer?.specs }),
    );
    return { ...summary, reused: false };
  } finally {
    model.dispose();
  }
}

/** A round that is complete: its successor's start is stored. */
export interface RoundDone {
  readonly next: RoundPosition;
  readonly epochMetrics?: EpochMetrics;
  readonly result?: DistributedTrainResult;
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

async function completedRound(
  store: Storage,
  outputUri: string,
  input: AggregateInput,
): Promise<RoundDone | undefined> {
  const already = await readJsonIfExists<StartState>(
    store,
    runLayout(outputUri).start(nextPosition(input.position, input.span).round).state,
  );
  if (already === undefined) return undefined;
  const last = already.history[already.history.length - 1];
  return {
    next: already.position,
    ...(input.span.endsEpoch && last ? { epochMetrics: last } : {}),
    ...(already.result ? { result: already.result } : {}),
  };
}

/** Stores the next round's start and drops the round before this one, no longer needed to resume or retry anything. */
async function advance(
  store: Storage,
  outputUri: string,
  round: number,
  state: StartState,
  weights: TensorSet,
  optimizer?: TensorSet,
): Promise<void> {
  await writeStart(store, outputUri, state, weights, optimizer);
  if (round >= 1)
    for await (const o of store.list(`${runLayout(outputUri).round(round - 1)}/`)) await store.delete(o.uri);
}

/**
 * The sample-weighted mean of the round's shard results and the run's state after it
 * (position, totals, the epoch's running loss), before any validation.
 */
async function averageRound(
  store: Storage,
  input: AggregateInput,
): Promise<{ state: StartState; weights: TensorSet; optimizer?: TensorSet }> {
  const t0 = performance.now();
  const layout = runLayout(input.outputUri);
  const { round } = input.position;
  const where = `${input.outputUri} round ${round}`;
  const { state } = await readStart(store, input.outputUri, round);
  checkRound(state, input.position, where);
  const shards = await Promise.all(
    Array.from({ length: input.span.shards }, async (_, k) => {
      const at = layout.shard(round, k);
      const r = await readJsonIfExists<ShardResult & { weightSpecs: TensorSpec[]; optimizerSpecs?: TensorSpec[] }>(
        store,
        at.result,
      );
      if (r === undefined) throw new Error(`${where}: shard ${k} has no result`);
      return {
        r,
        weights: { specs: r.weightSpecs, data: await store.readAll(at.weights) },
        ...(r.optimizerSpecs
          ? { optimizer: { specs: r.optimizerSpecs, data: await store.readAll(at.optimizer) } }
          : {}),
        samples: r.samples,
      };
    }),
  );
  const avg = averageStates(shards, where);
  const samples = shards.reduce((s, x) => s + x.samples, 0);
  const computeSeconds = Math.max(...shards.map((s) => s.r.computeSeconds));
  const workersPerRound = state.workersPerRound.map((p) => [...p] as [number, number]);
  const lastRun = workersPerRound[workersPerRound.length - 1];
  if (lastRun !== undefined && lastRun[0] === input.span.shards) lastRun[1]++;
  else workersPerRound.push([input.span.shards, 1]);
  const t = state.totals;
  const totals: RunTotals = {
    ...t,
    rounds: t.rounds + 1,
    samples: t.samples + samples,
    computeSeconds: t.computeSeconds + computeSeconds,
    exchangeSeconds: t.exchangeSeconds + Math.max(...shards.map((s) => s.r.exchangeSeconds)),
    setupSeconds: t.setupSeconds + Math.max(...shards.map((s) => s.r.setupSeconds)),
    aggregateSeconds: t.aggregateSeconds + (performance.now() - t0) / 1000,
  };
  return {
    state: {
      ...state,
      position: nextPosition(input.position, input.span),
      totals,
      workersPerRound,
      epochLossSum: state.epochLossSum + shards.reduce((s, x) => s + x.r.lossSum, 0),
      epochSamples: state.epochSamples + samples,
      epochSeconds: state.epochSeconds + computeSeconds,
      weightSpecs: avg.weights.specs,
      ...(avg.optimizer ? { optimizerSpecs: avg.optimizer.specs } : {}),
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
export async function aggregateRound(input: AggregateInput, hooks: JobHooks = {}): Promise<AggregateResult> {
  const store = hooks.store ?? storage();
  const done = await completedRound(store, input.outputUri, input);
  if (done !== undefined) return done;
  const { round } = input.position;
  if (input.span.endsEpoch) {
    const at = runLayout(input.outputUri).average(round);
    if (!(await store.head(at.state))) {
      const a = await averageRound(store, input);
      await store.write(at.weights, a.weights.data);
      if (a.optimizer !== undefined) await store.write(at.optimizer, a.optimizer.data);
      await store.write(at.state, JSON.stringify(a.state));
    }
    return { validationParts: input.span.shards };
  }
  const a = await averageRound(store, input);
  await advance(store, input.outputUri, round, a.state, a.weights, a.optimizer);
  return { next: a.state.position };
}

/** Rows kept by `keep` from row groups `refs` of the plan's files, in order; consecutive groups of one file share one open. */
async function* groupRows(
  store: Storage,
  plan: Plan,
  refs: readonly RowGroupRef[],
  keep: (row: TrainingRow) => boolean,
): AsyncGenerator<TrainingRow> {
  for (let i = 0; i < refs.length; ) {
    let j = i;
    while (j < refs.length && refs[j]!.file === refs[i]!.file) j++;
    const src = await store.openRead(plan.files[refs[i]!.file]!);
    try {
      for await (const row of readFeatureRows(
        src,
        refs.slice(i, j).map((r) => r.group),
      ))
        if (keep(row)) yield row;
    } finally {
      await src.close();
    }
    i = j;
  }
}

/** Part `part` of `parts` of the validation split: the held-out rows of a contiguous block of row groups. */
export function validationGroups(groups: readonly RowGroupRef[], part: number, parts: number): readonly RowGroupRef[] {
  if (!(Number.isInteger(parts) && parts >= 1 && Number.isInteger(part) && part >= 0 && part < parts))
    throw new Error(`validation part ${part} outside 0..${parts - 1}`);
  return groups.slice(Math.floor((part * groups.length) / parts), Math.floor(((part + 1) * groups.length) / parts));
}

/**
 * Scores one part of the validation split with an epoch's averaged parameters and
 * stores the scores and labels, so finishEpoch computes the AUCs from all of them
 * exactly as one pass over the split would.
 */
export async function validatePart(input: ValidatePartInput, hooks: JobHooks = {}): Promise<ValidatePartResult> {
  const store = hooks.store ?? storage();
  const layout = runLayout(input.outputUri);
  const { round } = input.position;
  const at = layout.validation(round, input.part);
  const done = await readJsonIfExists<Omit<ValidatePartResult, 'reused'>>(store, at.result);
  if (done !== undefined) return { ...done, reused: true };
  const t0 = performance.now();
  const where = `${input.outputUri} round ${round} validation part ${input.part}`;
  const plan = await readPlan(store, input.outputUri);
  const avg = layout.average(round);
  const state = await store.readJson<StartState>(avg.state);
  await initBackend(plan.config.backend, { log: hooks.log ?? (() => undefined) });
  const model = buildModel(plan.config.model);
  try {
    await loadIntoModel(model, { specs: state.weightSpecs, data: await store.readAll(avg.weights) }, undefined, where);
    const split = plan.config.split;
    const rows = groupRows(store, plan, validationGroups(plan.groups, input.part, input.parts), (row) =>
      isValidationRow(row, -1, split),
    );
    const v = await predictRows(
      model,
      chunk(rows, Math.max(plan.config.batchSize, 256)),
      batchOptions(plan),
      `dataset ${plan.datasetUri}`,
    );
    const samples = v.labels.length;
    const C = plan.config.model.nClasses;
    const scores = packTensors(
      [
        { name: 'probs', shape: [samples, C], dtype: 'float32' },
        { name: 'labels', shape: [samples], dtype: 'int32' },
      ],
      [v.probs, v.labels],
    );
    await store.write(at.scores, scores.data);
    const result = {
      part: input.part,
      samples,
      lossSum: samples > 0 ? v.loss * samples : 0,
      seconds: (performance.now() - t0) / 1000,
    };
    await store.write(at.result, JSON.stringify(result));
    return { ...result, reused: false };
  } finally {
    model.dispose();
  }
}

/** Combines the parts' validation (loss weighted by rows, AUCs from all scores), selects the best epoch, and after the last epoch writes the model. */
export async function finishEpoch(input: FinishEpochInput, hooks: JobHooks = {}): Promise<RoundDone> {
  const store = hooks.store ?? storage();
  const done = await completedRound(store, input.outputUri, input);
  if (done !== undefined) return done;
  const layout = runLayout(input.outputUri);
  const { round } = input.position;
  const where = `${input.outputUri} round ${round}`;
  const plan = await readPlan(store, input.outputUri);
  const avgAt = layout.average(round);
  const state = await readJsonIfExists<StartState>(store, avgAt.state);
  if (state === undefined) throw new Error(`${where}: the epoch's averaged parameters are missing (${avgAt.state})`);
  const weights: TensorSet = { specs: state.weightSpecs, data: await store.readAll(avgAt.weights) };
  const optimizer = state.optimizerSpecs
    ? { specs: state.optimizerSpecs, data: await store.readAll(avgAt.optimizer) }
    : undefined;
  const C = plan.config.model.nClasses;
  const parts = await Promise.all(
    Array.from({ length: input.parts }, async (_, k) => {
      const at = layout.validation(round, k);
      const r = await readJsonIfExists<Omit<ValidatePartResult, 'reused'>>(store, at.result);
      if (r === undefined) throw new Error(`${where}: validation part ${k} has no result`);
      const [probs, labels] = unpackTensors(
        {
          specs: [
            { name: 'probs', shape: [r.samples, C], dtype: 'float32' },
            { name: 'labels', shape: [r.samples], dtype: 'int32' },
          ],
          data: await store.readAll(at.scores),
        },
        `${where} validation part ${k}`,
      );
      return { r, probs: probs as Float32Array, labels: labels as Int32Array };
    }),
  );
  const n = parts.reduce((s, p) => s + p.r.samples, 0);
  const concat = <T extends Float32Array | Int32Array>(xs: T[], out: T): T => {
    let off = 0;
    for (const x of xs) {
      out.set(x, off);
      off += x.length;
    }
    return out;
  };
  // The full report (200 ROC points) now, so the final model needs no second pass.
  const v =
    n === 0
      ? undefined
      : {
          loss: parts.reduce((s, p) => s + p.r.lossSum, 0) / n,
          report: classificationReport(
            concat(
              parts.map((p) => p.probs),
              new Float32Array(n * C),
            ),
            concat(
              parts.map((p) => p.labels),
              new Int32Array(n),
            ),
            plan.config.classNames,
            200,
          ),
        };
  const { epoch } = input.position;
  const epochMetrics: EpochMetrics = {
    epoch,
    loss: state.epochLossSum / state.epochSamples,
    samples: state.epochSamples,
    seconds: state.epochSeconds,
    samplesPerSecond: state.epochSamples / state.epochSeconds,
    ...(v
      ? {
          valLoss: v.loss,
          valAccuracy: v.report.accuracy,
          valMeanAuc: v.report.meanAuc,
          valAuc: Object.fromEntries(v.report.perClass.map((c) => [c.className, c.auc])),
        }
      : {}),
  };
  const history = [...state.history, epochMetrics];
  let best = state.best;
  const s = selectionScore(epochMetrics, plan.config.selectionMetric);
  // As single-worker training: strictly better only, the last epoch without validation.
  if (best === null || s > best.score || v === undefined) {
    best = { epoch, score: s, uri: layout.best(epoch) };
    await store.write(best.uri, weights.data);
    if (v !== undefined) await store.write(`${best.uri}.report.json`, JSON.stringify(v.report));
  }
  // Critical path: the slowest part.
  const totals: RunTotals = {
    ...state.totals,
    validationSeconds: state.totals.validationSeconds + Math.max(0, ...parts.map((p) => p.r.seconds)),
  };
  hooks.log?.(
    `[distributed] epoch ${epoch + 1}/${plan.config.epochs}: loss ${epochMetrics.loss.toFixed(4)}` +
      (epochMetrics.valLoss !== undefined
        ? `, val loss ${epochMetrics.valLoss.toFixed(4)}, val mean AUC ${epochMetrics.valMeanAuc!.toFixed(4)}`
        : ''),
  );
  let result: DistributedTrainResult | undefined;
  if (state.position.epoch >= plan.config.epochs) {
    const backend = await initBackend(plan.config.backend, { log: hooks.log ?? (() => undefined) });
    const model = buildModel(plan.config.model);
    try {
      result = await writeModel(store, plan, model, {
        history,
        best,
        totals,
        workersPerRound: state.workersPerRound,
        backend: backend.kind,
        outputUri: input.outputUri,
      });
    } finally {
      model.dispose();
    }
  }
  await advance(
    store,
    input.outputUri,
    round,
    {
      ...state,
      history,
      best,
      totals,
      epochLossSum: 0,
      epochSamples: 0,
      epochSeconds: 0,
      ...(result ? { result } : {}),
    },
    weights,
    optimizer,
  );
  return { next: state.position, epochMetrics, ...(result ? { result } : {}) };
}

/** The final model in the layout single-worker training writes (evaluation reads either). */
async function writeModel(
  store: Storage,
  plan: Plan,
  model: tf.LayersModel,
  s: {
    history: EpochMetrics[];
    best: { epoch: number; uri: string };
    totals: RunTotals;
    workersPerRound: [number, number][];
    backend: string;
    outputUri: string;
  },
): Promise<DistributedTrainResult> {
  const layout = runLayout(s.outputUri);
  const specs = (await modelTensors(model)).weights.specs;
  await loadIntoModel(model, { specs, data: await store.readAll(s.best.uri) }, undefined, 'best weights');
  const put = (name: string, data: Uint8Array | string) => store.write(`${layout.model}/${name}`, data);
  const artifacts: string[] = [];
  const report = s.history.some((h) => h.valLoss !== undefined)
    ? await store.readAll(`${s.best.uri}.report.json`)
    : undefined;
  if (report) {
    await put('validation-report.json', report);
    artifacts.push('validation-report.json');
  }
  const { modelJson, weights } = await modelArtifacts(model);
  await put('model.json', modelJson);
  await put('weights.bin', weights);
  await put('scaler.json', utf8.encode(JSON.stringify(plan.scaler)));
  artifacts.push('model.json', 'weights.bin', 'scaler.json');
  if (plan.particleScaler !== undefined) {
    await put('particle-scaler.json', JSON.stringify(plan.particleScaler));
    artifacts.push('particle-scaler.json');
  }
  const bestEpoch = s.history.find((h) => h.epoch === s.best.epoch);
  const metrics: Record<string, number> = {};
  if (bestEpoch?.valLoss !== undefined) metrics.valLoss = bestEpoch.valLoss;
  if (bestEpoch?.valMeanAuc !== undefined) metrics.valMeanAuc = bestEpoch.valMeanAuc;
  if (bestEpoch?.valAccuracy !== undefined) metrics.valAccuracy = bestEpoch.valAccuracy;
  const trainSeconds = s.history.reduce((a, h) => a + h.seconds, 0);
  const result: DistributedTrainResult = {
    runId: plan.runId,
    modelUri: layout.model,
    metrics,
    backend: s.backend,
    epochsCompleted: s.history.length,
    resumedFromEpoch: 0,
    samplesPerSecond: s.totals.samples / trainSeconds,
    trainSeconds,
    bestEpoch: s.best.epoch,
    workersPerRound: s.workersPerRound,
    totals: s.totals,
  };
  const particleScaling = plan.particleScaler !== undefined ? 'standard' : 'none';
  await put(
    'metadata.json',
    JSON.stringify(
      {
        config: plan.config,
        particleScaling,
        datasetId: plan.datasetUri,
        history: s.history,
        parameters: model.countParams(),
        artifacts: [...artifacts, 'metadata.json'],
        distributed: {
          localSteps: plan.localSteps,
          warmupEpochs: plan.warmupEpochs,
          groupsPerWorker: plan.groupsPerWorker,
        },
        ...result,
      },
      null,
      2,
    ),
  );
  return result;
}
