/**
 * Distributed training's stored state (layout.ts says where): the plan every step reads,
 * a round's start (the run's checkpoint: parameters, Adam state, history, best epoch,
 * totals), and moving a model's tensors in and out of it. Every write puts the tensors
 * first and the JSON marker last, so a step retried after a crash finds either a
 * complete object or none.
 */
import * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../../dataset/scaler.js';
import { readFeatureRows } from '../../parquet/reader.js';
import { ObjectNotFoundError, type Storage } from '../../storage/index.js';
import { CheckpointError } from '../../errors.js';
import type { EpochMetrics } from '../../contract/training.js';
import {
  nextPosition,
  type AggregateInput,
  type DistributedTrainResult,
  type RoundDone,
  type RoundPosition,
  type RowGroupRef,
  type RunTotals,
} from '../../contract/distributed-rounds.js';
import type { BatchOptions, TrainingRow } from '../data.js';
import type { TrainConfig } from '../training/config.js';
import { packTensors, unpackTensors, type TensorSet, type TensorSpec } from './params.js';
import { runLayout } from './layout.js';

/** What a job needs from the thread that runs it: its store, logging, progress and cancellation. */
export interface JobHooks {
  readonly store: Storage;
  readonly shouldStop?: () => boolean;
  readonly onProgress?: (p: { batch: number; loss: number; samples: number }) => void;
  readonly log?: (message: string) => void;
}

/** plan.json: everything a shard or aggregation needs besides its round. */
export interface Plan {
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
  readonly particleScaler?: ParticleScaler | undefined;
}

/** state.json of a round's start: the run's checkpoint. */
export interface StartState {
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
  readonly optimizerSpecs?: readonly TensorSpec[] | undefined;
  /** Present once training is complete. */
  readonly result?: DistributedTrainResult | undefined;
}

/** A stored round start, an average awaiting validation, or a shard's result: a state and its tensors. */
export interface StoredParameters<S> {
  readonly state: S;
  readonly weights: TensorSet;
  readonly optimizer?: TensorSet | undefined;
}

export const EMPTY_TOTALS: RunTotals = {
  rounds: 0,
  samples: 0,
  computeSeconds: 0,
  exchangeSeconds: 0,
  setupSeconds: 0,
  aggregateSeconds: 0,
  validationSeconds: 0,
};

/** Mixes integers into one 32-bit seed (so (seed, epoch) and (seed, round, shard) streams differ). */
export function seedOf(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

export async function readJsonIfExists<T>(store: Storage, uri: string): Promise<T | undefined> {
  try {
    return await store.readJson<T>(uri);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return undefined;
    throw e;
  }
}

export async function readPlan(store: Storage, outputUri: string): Promise<Plan> {
  return store.readJson<Plan>(runLayout(outputUri).plan);
}

export function batchOptions(plan: Plan): BatchOptions {
  const { model, padding } = plan.config;
  const { kind, maxLen, nClasses } = model;
  return { kind, maxLen, scaler: plan.scaler, padding, nClasses, particleScaler: plan.particleScaler };
}

export async function modelTensors(model: tf.LayersModel): Promise<{ weights: TensorSet; optimizer?: TensorSet }> {
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

export async function loadIntoModel(
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

/** The tensors of a state stored at `at` (weights.bin, optimizer.bin beside its JSON). */
export async function readParameters<
  S extends { weightSpecs: readonly TensorSpec[]; optimizerSpecs?: readonly TensorSpec[] | undefined },
>(store: Storage, state: S, at: { weights: string; optimizer: string }): Promise<StoredParameters<S>> {
  const weights = { specs: state.weightSpecs, data: await store.readAll(at.weights) };
  if (state.optimizerSpecs === undefined) return { state, weights };
  return { state, weights, optimizer: { specs: state.optimizerSpecs, data: await store.readAll(at.optimizer) } };
}

/** Writes a state and its tensors at `at`: the tensors first, the JSON (the completion marker) last. */
export async function writeParameters(
  store: Storage,
  at: { weights: string; optimizer: string; marker: string },
  p: StoredParameters<unknown>,
): Promise<void> {
  await store.write(at.weights, p.weights.data);
  if (p.optimizer !== undefined) await store.write(at.optimizer, p.optimizer.data);
  await store.write(at.marker, JSON.stringify(p.state));
}

export async function readStart(
  store: Storage,
  outputUri: string,
  round: number,
): Promise<StoredParameters<StartState>> {
  const at = runLayout(outputUri).start(round);
  return readParameters(store, await store.readJson<StartState>(at.state), at);
}

export function checkRound(state: StartState, position: RoundPosition, where: string): void {
  const p = state.position;
  if (p.round !== position.round || p.epoch !== position.epoch || p.cursor !== position.cursor) {
    throw new Error(`${where}: the stored start is at ${JSON.stringify(p)}, asked for ${JSON.stringify(position)}`);
  }
}

/** The round's outcome if a previous attempt completed it: its successor's start is stored. */
export async function completedRound(
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
  return { next: already.position, epochMetrics: input.span.endsEpoch ? last : undefined, result: already.result };
}

/** Stores the next round's start and drops the round before this one, no longer needed to resume or retry anything. */
export async function advance(
  store: Storage,
  outputUri: string,
  round: number,
  next: StoredParameters<StartState>,
): Promise<void> {
  const at = runLayout(outputUri).start(next.state.position.round);
  await writeParameters(store, { ...at, marker: at.state }, next);
  if (round >= 1)
    for await (const o of store.list(`${runLayout(outputUri).round(round - 1)}/`)) await store.delete(o.uri);
}

/** Rows kept by `keep` from row groups `refs` of the plan's files, in order; consecutive groups of one file share one open. */
export async function* groupRows(
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
