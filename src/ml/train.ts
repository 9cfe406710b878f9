/**
 * Single-process training, one of the two schedulers over the training core
 * (./training/): epochs over a RowSource, validation after every epoch, best-model
 * selection on the validation split, a checkpoint per epoch, resume from the latest
 * checkpoint, cancellation between batches. Runs in whatever thread calls it; the
 * training thread (training/thread-entry.ts) calls it off the caller's event loop.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HlfScaler, ParticleScaler } from '../dataset/scaler.js';
import { initBackend, type BackendInfo } from './backend.js';
import {
  fitHlfScaler,
  makeBatch,
  disposeBatch,
  trainingRowBatches,
  validateParticleScaler,
  validateScaler,
  validationRowBatches,
  type BatchOptions,
  type RowSource,
} from './data.js';
import { AbortError, DatasetTooSmallError, TrainingDivergedError } from '../errors.js';
import type { EpochMetrics } from '../contract/training.js';
import { classificationReport } from './metrics.js';
import { buildModel, modelInputs } from './models.js';
import { validateTrainConfig, type TrainConfig, type TrainProgress } from './training/config.js';
import { epochSummary, newBest, withValidation, type BestEpoch } from './training/epochs.js';
import {
  checkpointFingerprint,
  encodeTensors,
  resumeFromCheckpoint,
  setModelWeights,
  takeCheckpoint,
  type CheckpointStore,
} from './training/checkpoint.js';
import { makeTrainStep, seedTfjsRandom, type TrainStep } from './training/step.js';
import { predictRows } from './training/predict.js';
import {
  writeModelDirectory,
  type ArtifactSink,
  type TrainingOutcome,
  type ValidationSummary,
} from './training/model-dir.js';

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
  readonly onProgress?: ((p: TrainProgress) => void) | undefined;
  /** Polled between batches; true stops the run with an AbortError. */
  readonly shouldStop?: (() => boolean) | undefined;
  readonly log?: ((message: string) => void) | undefined;
  /** Minimum milliseconds between 'batch' progress reports. */
  readonly progressIntervalMs?: number | undefined;
}

export type TrainResult = TrainingOutcome;

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
  best: BestEpoch | null;
  bestWeights: Uint8Array | undefined;
  trainSeconds: number;
}

/** The run's settings, scalers and state, from the newest matching checkpoint when there is one. */
async function startRun(
  config: TrainConfig,
  deps: TrainDeps,
  model: tf.LayersModel,
): Promise<{ run: Run; state: RunState; resumedFromEpoch: number }> {
  const log = deps.log ?? (() => undefined);
  const where = `dataset ${deps.source.id}`;
  // The HLF model never sees particles: a particle scaler is neither used nor saved for it.
  const particleScaler = modelInputs(config.model.kind).includes('particles') ? deps.particleScaler : undefined;
  if (particleScaler !== undefined) validateParticleScaler(particleScaler, `${where} particle scaler`);
  const fingerprint = checkpointFingerprint(
    config,
    particleScaler !== undefined,
    deps.datasetIdentity ?? deps.source.id,
  );
  const resumed = await resumeFromCheckpoint(model, deps.checkpoints, fingerprint, log);
  const scaler = resumed?.state.scaler ?? deps.scaler ?? (await fitHlfScaler(deps.source, config.split));
  validateScaler(scaler, where);
  // A resumed run keeps the scalers it started with.
  const pScaler = resumed?.state.particleScaler ?? particleScaler;
  const { kind, maxLen, nClasses } = config.model;
  const run: Run = {
    config,
    deps,
    model,
    where,
    log,
    fingerprint,
    scaler,
    particleScaler: pScaler,
    batchOptions: { kind, maxLen, scaler, padding: config.padding, nClasses, particleScaler: pScaler },
    hasValidation: config.split.validationFraction > 0,
  };
  const state: RunState = {
    history: [...(resumed?.state.history ?? [])],
    best: resumed?.state.best ?? null,
    bestWeights: resumed?.bestWeights,
    trainSeconds: resumed?.state.trainSeconds ?? 0,
  };
  return { run, state, resumedFromEpoch: resumed?.state.epochsDone ?? 0 };
}

async function train(config: TrainConfig, deps: TrainDeps): Promise<TrainResult> {
  validateTrainConfig(config);
  const backend = await initBackend(config.backend, { log: deps.log ?? (() => undefined) });
  seedTfjsRandom(config.seed, 'initial weights');
  const model = buildModel(config.model);
  // The model's tensors are released however the run ends (cancel, divergence, bad data).
  try {
    const { run, state, resumedFromEpoch } = await startRun(config, deps, model);
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
      const samplesPerSecond = samples / ((now - t0) / 1000);
      deps.onProgress({
        type: 'batch',
        epoch,
        epochs: config.epochs,
        batch: batchIndex,
        loss,
        samplesSeen: samples,
        samplesPerSecond,
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
  return withValidation(metrics, v.loss, classificationReport(v.probs, v.labels, config.classNames, 2));
}

/** Records a finished epoch: history, best epoch so far, and a checkpoint when the run keeps them. */
async function endEpoch(run: Run, state: RunState, metrics: EpochMetrics): Promise<void> {
  const { config, model } = run;
  state.history.push(metrics);
  const weights = await encodeTensors(model.getWeights());
  const best = newBest(state.best, metrics, config.selectionMetric, run.hasValidation);
  if (best !== undefined) {
    state.best = best;
    state.bestWeights = weights.data;
  }
  if (run.deps.checkpoints) {
    const checkpoint = await takeCheckpoint(model, weights, state.bestWeights!, {
      fingerprint: run.fingerprint,
      epochsDone: metrics.epoch + 1,
      history: state.history,
      best: state.best,
      scaler: run.scaler,
      particleScaler: run.particleScaler,
      trainSeconds: state.trainSeconds,
    });
    await run.deps.checkpoints.save(checkpoint);
  }
  run.log(`[ml] ${epochSummary(metrics, config.epochs)}, ${metrics.samplesPerSecond.toFixed(0)} samples/s`);
}

/** Restores the best epoch's weights and writes the model directory (training/model-dir.ts). */
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
  let validation: ValidationSummary | undefined;
  let validationReport: Uint8Array | undefined;
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
      validationReport = new TextEncoder().encode(JSON.stringify(r));
    }
  }
  const samplesTotal = history.reduce((s, h) => s + h.samples, 0);
  const summary = {
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
  };
  const artifacts = await writeModelDirectory(deps.artifacts, {
    model,
    scaler: run.scaler,
    particleScaler: run.particleScaler,
    validationReport,
    metadata: { config, ...summary },
  });
  return { ...summary, artifacts };
}
