/**
 * Single-process training's checkpoints: what one holds (weights, optimizer state, the
 * best epoch's weights, history, scalers), the fingerprint that decides whether a run
 * may resume from it, and loading one back into a model. A checkpoint is a set of named
 * files; a CheckpointStore (../store.ts) decides where they live. Distributed training
 * checkpoints every round start instead (../distributed/round-state.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../../dataset/scaler.js';
import { CheckpointError } from '../../errors.js';
import type { EpochMetrics } from '../../contract/training.js';
import type { TrainConfig } from './config.js';
import type { BestEpoch } from './epochs.js';

/** A checkpoint is a set of named files; the store decides where they live. */
export interface Checkpoint {
  /** Epochs completed when it was taken. */
  readonly epoch: number;
  readonly files: Readonly<Record<string, Uint8Array>>;
}

export interface CheckpointStore {
  save(checkpoint: Checkpoint): Promise<void>;
  /** The checkpoint with the highest epoch, if any. */
  loadLatest(): Promise<Checkpoint | undefined>;
}

/**
 * Bumped whenever a change to models.ts, the training core or data.ts makes a checkpoint
 * of the previous code mean something else (layer layout, weight order, optimizer state,
 * row order): a checkpoint keyed by an older version is ignored, never resumed.
 */
export const MODEL_CODE_VERSION = 2;

/** state.json's layout; checkpoints written before the field existed have this layout too. */
export const CHECKPOINT_FORMAT = 'hepflow-checkpoint/1';

/** The checkpoint's JSON part. */
export interface TrainState {
  readonly format?: typeof CHECKPOINT_FORMAT;
  readonly fingerprint: string;
  readonly epochsDone: number;
  readonly history: EpochMetrics[];
  readonly best: BestEpoch | null;
  readonly scaler: HlfScaler;
  readonly particleScaler?: ParticleScaler | undefined;
  readonly trainSeconds: number;
  readonly weightSpecs: tf.io.WeightsManifestEntry[];
  readonly optimizerSpecs: tf.io.WeightsManifestEntry[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * Everything a checkpoint must share with the run that resumes it: the data, the model
 * and training settings (epochs may grow), and the version of the code that trains.
 */
export function checkpointFingerprint(c: TrainConfig, scaledParticles: boolean, datasetIdentity: string): string {
  const { model, batchSize, split, shuffleBuffer, seed, padding, classNames, selectionMetric } = c;
  return JSON.stringify({
    code: MODEL_CODE_VERSION,
    dataset: datasetIdentity,
    model,
    batchSize,
    split,
    shuffleBuffer,
    seed,
    padding,
    classNames,
    selectionMetric,
    scaledParticles,
  });
}

export async function encodeTensors(
  tensors: tf.Tensor[],
): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const named = tensors.map((tensor, i) => ({ name: `t${i}`, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  return { data: new Uint8Array(data), specs };
}

function decodeTensors(data: Uint8Array, specs: tf.io.WeightsManifestEntry[]): tf.Tensor[] {
  const buf = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buf, specs);
  return specs.map((s) => map[s.name]!);
}

export function setModelWeights(
  model: tf.LayersModel,
  data: Uint8Array,
  specs: tf.io.WeightsManifestEntry[],
  where: string,
): void {
  const tensors = decodeTensors(data, specs);
  const own = model.getWeights();
  if (tensors.length !== own.length || tensors.some((t, i) => !tf.util.arraysEqual(t.shape, own[i]!.shape))) {
    throw new CheckpointError(`${where}: stored weights do not match the model's ${own.length} weight shapes`);
  }
  model.setWeights(tensors);
  tf.dispose(tensors);
}

function checkpointState(cp: Checkpoint): TrainState {
  const stateFile = cp.files['state.json'];
  if (stateFile === undefined) throw new CheckpointError(`checkpoint of epoch ${cp.epoch} has no state.json`);
  let state: TrainState;
  try {
    state = JSON.parse(fromUtf8.decode(stateFile)) as TrainState;
  } catch (err) {
    throw new CheckpointError(`checkpoint of epoch ${cp.epoch}: state.json is not JSON (${(err as Error).message})`);
  }
  const format: unknown = state.format;
  if (format !== undefined && format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `checkpoint of epoch ${cp.epoch} has format ${JSON.stringify(format)}; this code reads '${CHECKPOINT_FORMAT}'`,
    );
  return state;
}

/** Which of the fingerprint's keys differ, for the log. */
function describeMismatch(stored: string, now: string): string {
  let a: Record<string, unknown>;
  try {
    a = JSON.parse(stored) as Record<string, unknown>;
  } catch {
    return 'unreadable settings';
  }
  const b = JSON.parse(now) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
  return `other ${keys.join(', ')} (stored ${keys.map((k) => `${k}=${JSON.stringify(a[k])}`).join(' ')})`;
}

/**
 * Loads the newest checkpoint into the model and its optimizer if it was taken for the
 * same fingerprint; a checkpoint of other data, settings or code is logged and ignored.
 */
export async function resumeFromCheckpoint(
  model: tf.LayersModel,
  checkpoints: CheckpointStore | undefined,
  fingerprint: string,
  log: (m: string) => void,
): Promise<{ state: TrainState; bestWeights: Uint8Array } | undefined> {
  const latest = await checkpoints?.loadLatest();
  if (latest === undefined) return undefined;
  const state = checkpointState(latest);
  if (state.fingerprint !== fingerprint) {
    // Another dataset, other settings or older code: its weights answer another question.
    log(
      `[ml] ignoring the checkpoint of epoch ${latest.epoch}: it was taken for ${describeMismatch(state.fingerprint, fingerprint)}; training from scratch`,
    );
    return undefined;
  }
  const need = (name: string): Uint8Array => {
    const f = latest.files[name];
    if (f === undefined) throw new CheckpointError(`checkpoint of epoch ${latest.epoch} has no ${name}`);
    return f;
  };
  setModelWeights(model, need('weights.bin'), state.weightSpecs, `checkpoint epoch ${latest.epoch}`);
  const opt = decodeTensors(need('optimizer.bin'), state.optimizerSpecs);
  await model.optimizer.setWeights(state.optimizerSpecs.map((spec, i) => ({ name: spec.name, tensor: opt[i]! })));
  const bestWeights = need('best-weights.bin');
  log(`[ml] resuming after epoch ${state.epochsDone} from checkpoint`);
  return { state, bestWeights };
}

/** The checkpoint after an epoch: the model's weights and optimizer state, the best epoch's weights, and `state`. */
export async function takeCheckpoint(
  model: tf.LayersModel,
  weights: { data: Uint8Array; specs: tf.io.WeightsManifestEntry[] },
  bestWeights: Uint8Array,
  state: Omit<TrainState, 'format' | 'weightSpecs' | 'optimizerSpecs'>,
): Promise<Checkpoint> {
  const optWeights = await model.optimizer.getWeights();
  const opt = await encodeTensors(optWeights.map((w) => w.tensor));
  const optNames = optWeights.map((w) => w.name);
  const st: TrainState = {
    format: CHECKPOINT_FORMAT,
    ...state,
    weightSpecs: weights.specs,
    optimizerSpecs: opt.specs.map((spec, i) => ({ ...spec, name: optNames[i]! })),
  };
  return {
    epoch: state.epochsDone,
    files: {
      'state.json': utf8.encode(JSON.stringify(st)),
      'weights.bin': weights.data,
      'optimizer.bin': opt.data,
      'best-weights.bin': bestWeights,
    },
  };
}
