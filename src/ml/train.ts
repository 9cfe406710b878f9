/**
 * One training run: epochs over a RowSource, validation after every epoch, best-model
 * selection on the validation split, a checkpoint per epoch, resume from the latest
 * checkpoint, cancellation between batches. Runs in whatever thread calls it; the
 * training worker (train-worker.ts) calls it off the caller's event loop.
 */
import * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../dataset/scaler.js';
import { initBackend, parseBackendRequest, type BackendInfo, type BackendRequest } from './backend.js';
import {
  disposeBatch,
  fitHlfScaler,
  fnv1a,
  labelArrays,
  mulberry32,
  makeBatch,
  trainingRowBatches,
  validateParticleScaler,
  validateScaler,
  validationRowBatches,
  type BatchOptions,
  type PaddingMode,
  type RowSource,
  type SplitConfig,
  type TrainingRow,
} from './data.js';
import { eventLoopTurns } from '../yield.js';
import {
  AbortError,
  CheckpointError,
  DatasetTooSmallError,
  MODEL_CODE_VERSION,
  TrainingDivergedError,
} from './errors.js';
import { InvalidInputError } from '../errors.js';
import {
  classificationReport,
  selectionScore,
  SELECTION_METRICS,
  type ClassificationReport,
  type SelectionMetric,
} from './metrics.js';
import { buildModel, modelInputs, validateModelConfig, type ModelConfig } from './models.js';
import { fusedDenseTrainStep } from './dense/index.js';
import { fusedSequenceTrainStep } from './gru/index.js';
import { fusedPredictor } from './fused-predict.js';
import { EVENT_CLASSES } from '../physics/schema.js';

export interface TrainConfig {
  readonly model: ModelConfig;
  readonly batchSize: number;
  readonly epochs: number;
  readonly split: SplitConfig;
  /** Rows in the bounded shuffle buffer. */
  readonly shuffleBuffer: number;
  /** Seeds the per-epoch shuffle (the split has its own seed). */
  readonly seed: number;
  readonly padding: PaddingMode;
  readonly backend: BackendRequest;
  readonly classNames: readonly string[];
  readonly selectionMetric: SelectionMetric;
}

/** Defaults to the paper's three classes; a pipeline run passes its dataset's classes. */
export function defaultTrainConfig(
  model: ModelConfig,
  overrides: Partial<Omit<TrainConfig, 'model'>> = {},
): TrainConfig {
  return {
    model,
    batchSize: 128,
    epochs: 5,
    split: { validationFraction: 0.1, seed: 42 },
    shuffleBuffer: 10_000,
    seed: 1,
    padding: 'longest',
    backend: 'auto',
    classNames: [...EVENT_CLASSES],
    selectionMetric: 'valLoss',
    ...overrides,
  };
}

export function validateTrainConfig(c: TrainConfig): void {
  validateModelConfig(c.model);
  const bad = (f: string, why: string): never => {
    throw new InvalidInputError(`invalid training config: ${f} ${why}`);
  };
  for (const f of ['batchSize', 'epochs', 'shuffleBuffer'] as const) {
    if (!(Number.isInteger(c[f]) && c[f] > 0)) bad(f, `must be a positive integer, got ${JSON.stringify(c[f])}`);
  }
  if (!Number.isInteger(c.seed)) bad('seed', `must be an integer, got ${JSON.stringify(c.seed)}`);
  const vf = c.split.validationFraction;
  if (!(typeof vf === 'number' && vf >= 0 && vf < 1)) bad('split.validationFraction', `must be in [0, 1), got ${vf}`);
  if (c.classNames.length !== c.model.nClasses)
    bad('classNames', `has ${c.classNames.length} names for ${c.model.nClasses} classes`);
  if (!['fixed', 'longest'].includes(c.padding)) bad('padding', `must be 'fixed' or 'longest', got '${c.padding}'`);
  if (!SELECTION_METRICS.includes(c.selectionMetric))
    bad('selectionMetric', `must be one of ${SELECTION_METRICS.join(', ')}, got '${c.selectionMetric}'`);
  parseBackendRequest(c.backend);
}

/** What the caller sees while training runs (drives activity heartbeats). */
export interface TrainProgress {
  readonly type: 'batch' | 'epoch';
  /** 0-based epoch being trained (type 'batch') or just finished (type 'epoch'). */
  readonly epoch: number;
  readonly epochs: number;
  readonly batch: number;
  readonly loss: number;
  readonly samplesSeen: number;
  readonly samplesPerSecond: number;
  readonly validation?: EpochMetrics;
}

export interface EpochMetrics {
  readonly epoch: number;
  readonly loss: number;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly valMeanAuc?: number;
  readonly valAuc?: Record<string, number>;
}

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

/** Where the final model (model.json + weights.bin) and metadata go. */
export interface ArtifactSink {
  put(name: string, data: Uint8Array): Promise<void>;
}

export interface TrainDeps {
  readonly source: RowSource;
  /** Fit on the training split when absent. */
  readonly scaler?: HlfScaler | undefined;
  /**
   * The dataset's per-feature particle standardisation (particle-scaler.json), applied to
   * real particles of the sequence models and saved with the model. Absent: raw particle
   * features, which only suits synthetic rows already of order 1; physics datasets carry one.
   */
  readonly particleScaler?: ParticleScaler | undefined;
  readonly checkpoints?: CheckpointStore | undefined;
  /**
   * What identifies the training data's content (e.g. a hash of the dataset's
   * metadata.json and train.parquet's ETag): a checkpoint taken on other data is ignored.
   * Absent: the source's id.
   */
  readonly datasetIdentity?: string | undefined;
  readonly artifacts: ArtifactSink;
  readonly onProgress?: (p: TrainProgress) => void;
  /** Polled between batches; true stops the run with an AbortError. */
  readonly shouldStop?: () => boolean;
  readonly log?: (message: string) => void;
  /** Minimum milliseconds between 'batch' progress reports. */
  readonly progressIntervalMs?: number | undefined;
}

export interface TrainResult {
  readonly datasetId: string;
  readonly backend: BackendInfo;
  readonly epochsCompleted: number;
  readonly resumedFromEpoch: number;
  readonly bestEpoch: number;
  readonly history: readonly EpochMetrics[];
  readonly validation?:
    | (Omit<ClassificationReport, 'perClass'> & { perClass: { className: string; auc: number }[] })
    | undefined;
  readonly parameters: number;
  readonly trainSeconds: number;
  readonly samplesPerSecond: number;
  readonly artifacts: readonly string[];
}

/**
 * tfjs draws the seed of every unseeded random op (weight initialisers, dropout masks)
 * from Math.random (tfjs-core's rand_util), so training swaps in a PRNG seeded from
 * (config.seed, purpose) while it runs: the same data and seed give the same weights on
 * one backend, and reseeding per epoch makes a run resumed at epoch k draw the masks an
 * uninterrupted run would. Exact only while nothing else on the thread draws from
 * Math.random meanwhile, which the training worker thread (train-worker.ts) guarantees.
 */
function seedTfjsRandom(seed: number, purpose: string): void {
  Math.random = mulberry32(fnv1a(purpose, seed));
}

/** The checkpoint's JSON part. */
interface TrainState {
  readonly fingerprint: string;
  readonly epochsDone: number;
  readonly history: EpochMetrics[];
  readonly best: { epoch: number; score: number } | null;
  readonly scaler: HlfScaler;
  readonly particleScaler?: ParticleScaler;
  readonly trainSeconds: number;
  readonly weightSpecs: tf.io.WeightsManifestEntry[];
  readonly optimizerSpecs: tf.io.WeightsManifestEntry[];
}

export { AbortError } from './errors.js';

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

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

async function encodeTensors(tensors: tf.Tensor[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const named = tensors.map((tensor, i) => ({ name: `t${i}`, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  return { data: new Uint8Array(data), specs };
}

function decodeTensors(data: Uint8Array, specs: tf.io.WeightsManifestEntry[]): tf.Tensor[] {
  const buf = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buf, specs);
  return specs.map((s) => map[s.name]!);
}

function setModelWeights(
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

/** One optimisation step on a batch, returning the batch's mean loss. */
export interface TrainStep {
  (inputs: tf.Tensor[], labels: tf.Tensor): number;
  /** Makes the model's variables and optimizer current (a fused step keeps them itself): await before reading them. */
  sync(): Promise<void>;
  readonly implementation: string;
}

/**
 * The training step runTraining, grid search and distributed training use: the fused
 * dense kernel for plain dense classifiers (the HLF model; src/ml/dense), the fused
 * sequence step for the GRU models (src/ml/gru/train-step.ts), tfjs otherwise.
 */
export function makeTrainStep(model: tf.LayersModel): TrainStep {
  return fusedDenseTrainStep(model) ?? fusedSequenceTrainStep(model) ?? tfjsTrainStep(model);
}

/**
 * tfjs' training step. Calls the compiled optimizer directly rather than
 * LayersModel.trainOnBatch, whose per-call bookkeeping (input standardisation, a fresh
 * train function) costs about as much as the whole HLF model's arithmetic: measured 2×
 * faster at batch 128 on WASM. The loss is tfjs-layers' own categorical cross-entropy,
 * and the variable list is fixed so Adam's per-variable slots line up across checkpoints.
 */
export function tfjsTrainStep(model: tf.LayersModel): TrainStep {
  const optimizer = model.optimizer;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = (inputs: tf.Tensor[], labels: tf.Tensor): number => {
    const loss = optimizer.minimize(
      () => {
        const out = model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: true }) as tf.Tensor;
        return tf.mean<tf.Scalar>(tf.metrics.categoricalCrossentropy(labels, out));
      },
      true,
      vars,
    )!;
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return value;
  };
  return Object.assign(step, { sync: async () => undefined, implementation: 'tfjs' });
}

function checkpointState(cp: Checkpoint): TrainState {
  const stateFile = cp.files['state.json'];
  if (stateFile === undefined) throw new CheckpointError(`checkpoint of epoch ${cp.epoch} has no state.json`);
  try {
    return JSON.parse(fromUtf8.decode(stateFile)) as TrainState;
  } catch (err) {
    throw new CheckpointError(`checkpoint of epoch ${cp.epoch}: state.json is not JSON (${(err as Error).message})`);
  }
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

/** Runs the model over the validation split: softmax outputs, labels, mean loss. */
export async function predictRows(
  model: tf.LayersModel,
  batches: AsyncIterable<readonly TrainingRow[]>,
  o: BatchOptions,
  where: string,
): Promise<{ probs: Float32Array; labels: Int32Array; loss: number }> {
  const probs: Float32Array[] = [];
  const labels: Int32Array[] = [];
  let lossSum = 0;
  let n = 0;
  // Evaluation runs on an activity's own thread: let its heartbeat timer through.
  const turn = eventLoopTurns();
  const fused = fusedPredictor(model, o.kind);
  const predict = async (rows: readonly TrainingRow[]): Promise<{ p: Float32Array; labelIndex: Int32Array }> => {
    if (fused !== null) {
      const { labelIndex } = labelArrays(rows, o.nClasses, where);
      return { p: fused(rows, o, where), labelIndex };
    }
    const b = makeBatch(rows, o, where);
    try {
      const out = model.predict(b.inputs.length === 1 ? b.inputs[0]! : b.inputs) as tf.Tensor;
      const p = (await out.data()) as Float32Array;
      out.dispose();
      return { p, labelIndex: b.labelIndex };
    } finally {
      disposeBatch(b);
    }
  };
  for await (const rows of batches) {
    await turn();
    const { p, labelIndex } = await predict(rows);
    for (let i = 0; i < labelIndex.length; i++)
      lossSum -= Math.log(Math.max(p[i * o.nClasses + labelIndex[i]!]!, 1e-7));
    probs.push(p);
    labels.push(labelIndex);
    n += labelIndex.length;
  }
  const cat = <T extends Float32Array | Int32Array>(parts: T[], make: (len: number) => T): T => {
    const out = make(parts.reduce((s, a) => s + a.length, 0));
    let off = 0;
    for (const a of parts) {
      out.set(a, off);
      off += a.length;
    }
    return out;
  };
  return {
    probs: cat(probs, (l) => new Float32Array(l)),
    labels: cat(labels, (l) => new Int32Array(l)),
    loss: n ? lossSum / n : NaN,
  };
}

/** Serialises a LayersModel in the tfjs layers format (model.json + one weights.bin). */
export async function modelArtifacts(model: tf.LayersModel): Promise<{ modelJson: Uint8Array; weights: Uint8Array }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved?.weightData === undefined || saved.weightSpecs === undefined)
    throw new Error('model.save produced no weights');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(saved.weightData));
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: saved.modelTopology,
    trainingConfig: saved.trainingConfig,
    weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
  };
  return { modelJson: utf8.encode(JSON.stringify(json)), weights };
}

/**
 * Trains per `config`. If `deps.checkpoints` holds a checkpoint of the same settings,
 * training continues after its epoch with its weights, optimizer state, history and
 * best-model record; the per-epoch shuffle is a function of (seed, epoch), so the
 * resumed epochs see exactly the row order an uninterrupted run would have.
 */
export async function runTraining(config: TrainConfig, deps: TrainDeps): Promise<TrainResult> {
  const systemRandom = Math.random;
  try {
    return await train(config, deps);
  } finally {
    Math.random = systemRandom;
  }
}

/** What every step of one run reads: its settings, the model, and how rows become batches. */
interface Run {
  readonly config: TrainConfig;
  readonly deps: TrainDeps;
  readonly model: tf.LayersModel;
  readonly where: string;
  readonly log: (message: string) => void;
  readonly fingerprint: string;
  readonly scaler: HlfScaler;
  readonly particleScaler: ParticleScaler | undefined;
  readonly batchOptions: BatchOptions;
  readonly hasValidation: boolean;
}

/** Where a run stands between epochs: what a checkpoint keeps of it besides the weights. */
interface RunState {
  readonly history: EpochMetrics[];
  best: { epoch: number; score: number } | null;
  bestWeights: Uint8Array | undefined;
  trainSeconds: number;
}

async function train(config: TrainConfig, deps: TrainDeps): Promise<TrainResult> {
  validateTrainConfig(config);
  const log = deps.log ?? (() => undefined);
  const where = `dataset ${deps.source.id}`;
  const backend = await initBackend(config.backend, { log });
  seedTfjsRandom(config.seed, 'initial weights');
  const model = buildModel(config.model);
  // The model's tensors are released however the run ends (cancel, divergence, bad data).
  try {
    // The HLF model never sees particles: a particle scaler is neither used nor saved for it.
    const particleScaler = modelInputs(config.model.kind).includes('particles') ? deps.particleScaler : undefined;
    if (particleScaler !== undefined) validateParticleScaler(particleScaler, `${where} particle scaler`);
    const fingerprint = checkpointFingerprint(
      config,
      particleScaler !== undefined,
      deps.datasetIdentity ?? deps.source.id,
    );
    const resumed = await resume(model, deps.checkpoints, fingerprint, log);
    const scaler = resumed?.state.scaler ?? deps.scaler ?? (await fitHlfScaler(deps.source, config.split));
    validateScaler(scaler, where);
    // A resumed run keeps the scalers it started with.
    const pScaler = resumed?.state.particleScaler ?? particleScaler;
    const run: Run = {
      config,
      deps,
      model,
      where,
      log,
      fingerprint,
      scaler,
      particleScaler: pScaler,
      batchOptions: {
        kind: config.model.kind,
        maxLen: config.model.maxLen,
        scaler,
        padding: config.padding,
        nClasses: config.model.nClasses,
        ...(pScaler !== undefined ? { particleScaler: pScaler } : {}),
      },
      hasValidation: config.split.validationFraction > 0,
    };
    const state: RunState = {
      history: [...(resumed?.state.history ?? [])],
      best: resumed?.state.best ?? null,
      bestWeights: resumed?.bestWeights,
      trainSeconds: resumed?.state.trainSeconds ?? 0,
    };
    const resumedFromEpoch = resumed?.state.epochsDone ?? 0;
    const trainStep = makeTrainStep(model);
    for (let epoch = resumedFromEpoch; epoch < config.epochs; epoch++) {
      const trained = await trainEpoch(run, trainStep, epoch);
      state.trainSeconds += trained.metrics.seconds;
      const metrics = run.hasValidation
        ? await validateEpoch(run, trained.metrics, epoch === resumedFromEpoch)
        : trained.metrics;
      await endEpoch(run, state, metrics);
      deps.onProgress?.({
        type: 'epoch',
        epoch,
        epochs: config.epochs,
        batch: trained.batches,
        loss: metrics.loss,
        samplesSeen: metrics.samples,
        samplesPerSecond: metrics.samplesPerSecond,
        validation: metrics,
      });
    }
    return await writeArtifacts(run, state, { backend, resumedFromEpoch, parameters: model.countParams() });
  } finally {
    model.dispose();
  }
}

/**
 * Loads the newest checkpoint into the model and its optimizer if it was taken for the
 * same fingerprint; a checkpoint of other data, settings or code is logged and ignored.
 */
async function resume(
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

/** One pass over the training split; stops between batches when asked to. */
async function trainEpoch(
  run: Run,
  trainStep: TrainStep,
  epoch: number,
): Promise<{ metrics: EpochMetrics; batches: number }> {
  const { config, deps, where } = run;
  seedTfjsRandom(config.seed, `dropout epoch ${epoch}`);
  const interval = deps.progressIntervalMs ?? 1000;
  const t0 = performance.now();
  let lastReport = 0;
  let samples = 0;
  let lossSum = 0;
  let batchIndex = 0;
  const batches = trainingRowBatches(deps.source, {
    split: config.split,
    batchSize: config.batchSize,
    shuffleBuffer: config.shuffleBuffer,
    seed: config.seed,
    epoch,
    particles: modelInputs(config.model.kind).includes('particles'),
  });
  for await (const rows of batches) {
    if (deps.shouldStop?.()) throw new AbortError(`training stopped during epoch ${epoch} before batch ${batchIndex}`);
    const b = makeBatch(rows, run.batchOptions, where);
    const loss = trainStep(b.inputs, b.labels);
    disposeBatch(b);
    if (!Number.isFinite(loss))
      throw new TrainingDivergedError(`training diverged: loss ${loss} at epoch ${epoch} batch ${batchIndex}`);
    lossSum += loss * b.size;
    samples += b.size;
    batchIndex++;
    const now = performance.now();
    if (deps.onProgress && now - lastReport >= interval) {
      lastReport = now;
      deps.onProgress({
        type: 'batch',
        epoch,
        epochs: config.epochs,
        batch: batchIndex,
        loss,
        samplesSeen: samples,
        samplesPerSecond: samples / ((now - t0) / 1000),
      });
    }
  }
  if (samples === 0)
    throw new DatasetTooSmallError(
      `${where}: no training rows (validation fraction ${config.split.validationFraction})`,
    );
  // Validation and the checkpoint read the model's variables and optimizer.
  await trainStep.sync();
  const seconds = (performance.now() - t0) / 1000;
  return {
    metrics: { epoch, loss: lossSum / samples, samples, seconds, samplesPerSecond: samples / seconds },
    batches: batchIndex,
  };
}

/** The epoch's metrics with the validation split's loss, accuracy and AUCs added. */
async function validateEpoch(run: Run, metrics: EpochMetrics, firstOfRun: boolean): Promise<EpochMetrics> {
  const { config, where } = run;
  const v = await predictRows(
    run.model,
    validationRowBatches(run.deps.source, config.split, Math.max(config.batchSize, 256)),
    run.batchOptions,
    where,
  );
  // The loss is clipped, so weights that overflowed show first as NaN predictions.
  if (v.probs.some(Number.isNaN))
    throw new TrainingDivergedError(`training diverged: the model predicts NaN after epoch ${metrics.epoch}`);
  const present = new Set(v.labels);
  if (present.size < 2) {
    throw new DatasetTooSmallError(
      `${where}: the validation split (fraction ${config.split.validationFraction}) holds ${v.labels.length} ` +
        `events of ${present.size} class(es), too few to validate: use a larger dataset or validation fraction`,
    );
  }
  if (firstOfRun && present.size < config.classNames.length) {
    const missing = config.classNames.filter((_, l) => !present.has(l));
    run.log(
      `[ml] warning: no ${missing.join(', ')} event in the validation split of ${v.labels.length}: validation AUC is the mean over the classes present`,
    );
  }
  const r = classificationReport(v.probs, v.labels, config.classNames, 2);
  return {
    ...metrics,
    valLoss: v.loss,
    valAccuracy: r.accuracy,
    valMeanAuc: r.meanAuc,
    valAuc: Object.fromEntries(r.perClass.map((c) => [c.className, c.auc])),
  };
}

/** Records a finished epoch: history, best epoch so far, and a checkpoint when the run keeps them. */
async function endEpoch(run: Run, state: RunState, metrics: EpochMetrics): Promise<void> {
  const { config, model } = run;
  state.history.push(metrics);
  const weights = await encodeTensors(model.getWeights());
  const s = selectionScore(metrics, config.selectionMetric);
  // Strictly better only: on ties the earlier epoch stays best (deterministic).
  if (state.best === null || s > state.best.score || !run.hasValidation) {
    state.best = { epoch: metrics.epoch, score: s };
    state.bestWeights = weights.data;
  }
  if (run.deps.checkpoints) {
    const optWeights = await model.optimizer.getWeights();
    const opt = await encodeTensors(optWeights.map((w) => w.tensor));
    const optNames = optWeights.map((w) => w.name);
    const st: TrainState = {
      fingerprint: run.fingerprint,
      epochsDone: metrics.epoch + 1,
      history: state.history,
      best: state.best,
      scaler: run.scaler,
      ...(run.particleScaler !== undefined ? { particleScaler: run.particleScaler } : {}),
      trainSeconds: state.trainSeconds,
      weightSpecs: weights.specs,
      optimizerSpecs: opt.specs.map((spec, i) => ({ ...spec, name: optNames[i]! })),
    };
    await run.deps.checkpoints.save({
      epoch: metrics.epoch + 1,
      files: {
        'state.json': utf8.encode(JSON.stringify(st)),
        'weights.bin': weights.data,
        'optimizer.bin': opt.data,
        'best-weights.bin': state.bestWeights!,
      },
    });
  }
  run.log(
    `[ml] epoch ${metrics.epoch + 1}/${config.epochs}: loss ${metrics.loss.toFixed(4)}` +
      (metrics.valLoss !== undefined
        ? `, val loss ${metrics.valLoss.toFixed(4)}, val mean AUC ${metrics.valMeanAuc!.toFixed(4)}`
        : '') +
      `, ${metrics.samplesPerSecond.toFixed(0)} samples/s`,
  );
}

/** Restores the best epoch's weights and writes the model, its scalers, the validation report and metadata. */
async function writeArtifacts(
  run: Run,
  state: RunState,
  o: { backend: BackendInfo; resumedFromEpoch: number; parameters: number },
): Promise<TrainResult> {
  const { config, deps, model } = run;
  const { history, best, bestWeights, trainSeconds } = state;
  if (bestWeights === undefined || best === null) throw new Error('training finished without any completed epoch');
  const weightSpecs = (await encodeTensors(model.getWeights())).specs;
  setModelWeights(model, bestWeights, weightSpecs, 'best weights');

  let validation: TrainResult['validation'];
  const artifacts: string[] = [];
  const put = async (name: string, data: Uint8Array) => {
    await deps.artifacts.put(name, data);
    artifacts.push(name);
  };
  if (run.hasValidation) {
    const v = await predictRows(
      model,
      validationRowBatches(deps.source, config.split, 256),
      run.batchOptions,
      run.where,
    );
    if (v.labels.length > 0) {
      const r = classificationReport(v.probs, v.labels, config.classNames, 200);
      validation = { ...r, perClass: r.perClass.map((c) => ({ className: c.className, auc: c.auc })) };
      await put('validation-report.json', utf8.encode(JSON.stringify(r)));
    }
  }
  const { modelJson, weights } = await modelArtifacts(model);
  await put('model.json', modelJson);
  await put('weights.bin', weights);
  await put('scaler.json', utf8.encode(JSON.stringify(run.scaler)));
  if (run.particleScaler !== undefined)
    await put('particle-scaler.json', utf8.encode(JSON.stringify(run.particleScaler)));
  const samplesTotal = history.reduce((s, h) => s + h.samples, 0);
  const result: TrainResult = {
    datasetId: deps.source.id,
    backend: o.backend,
    epochsCompleted: history.length,
    resumedFromEpoch: o.resumedFromEpoch,
    bestEpoch: best.epoch,
    history,
    validation,
    parameters: o.parameters,
    trainSeconds,
    samplesPerSecond: samplesTotal / trainSeconds,
    artifacts: [...artifacts, 'metadata.json'],
  };
  // particleScaling tells evaluation whether particle-scaler.json must be applied.
  const particleScaling = run.particleScaler !== undefined ? 'standard' : 'none';
  await put('metadata.json', utf8.encode(JSON.stringify({ config, particleScaling, ...result }, null, 2)));
  return result;
}
