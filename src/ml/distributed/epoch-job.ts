/**
 * An epoch's end in distributed training. validatePart scores one part of the
 * validation split with the epoch's averaged parameters; finishEpoch combines the parts
 * (loss weighted by rows, AUCs from all scores, exactly as one pass would), applies the
 * best-epoch rule (training/epochs.ts), and after the last epoch writes the model
 * directory (training/model-dir.ts), the same one single-process training writes.
 */
import type { Storage } from '../../storage/index.js';
import type { EpochMetrics } from '../../contract/training.js';
import type {
  DistributedTrainResult,
  FinishEpochInput,
  RoundDone,
  RowGroupRef,
  RunTotals,
  ValidatePartInput,
  ValidatePartResult,
} from '../../contract/distributed-rounds.js';
import { bestEpochMetrics } from '../../contract/training.js';
import { initBackend, type BackendInfo } from '../backend.js';
import { chunk, isValidationRow } from '../data.js';
import { classificationReport, type ClassificationReport } from '../metrics.js';
import { buildModel } from '../models.js';
import { ObjectArtifactSink } from '../store.js';
import { epochSummary, newBest, withValidation } from '../training/epochs.js';
import { writeModelDirectory } from '../training/model-dir.js';
import { predictRows } from '../training/predict.js';
import { packTensors, unpackTensors } from './params.js';
import { runLayout } from './layout.js';
import {
  advance,
  batchOptions,
  completedRound,
  groupRows,
  loadIntoModel,
  modelTensors,
  readJsonIfExists,
  readParameters,
  readPlan,
  type JobHooks,
  type Plan,
  type StartState,
} from './round-state.js';

type StoredPart = Omit<ValidatePartResult, 'reused'>;

/** Part `part` of `parts` of the validation split: the held-out rows of a contiguous block of row groups. */
export function validationGroups(groups: readonly RowGroupRef[], part: number, parts: number): readonly RowGroupRef[] {
  if (!(Number.isInteger(parts) && parts >= 1 && Number.isInteger(part) && part >= 0 && part < parts))
    throw new Error(`validation part ${part} outside 0..${parts - 1}`);
  return groups.slice(Math.floor((part * groups.length) / parts), Math.floor(((part + 1) * groups.length) / parts));
}

const scoreSpecs = (samples: number, classes: number) =>
  [
    { name: 'probs', shape: [samples, classes], dtype: 'float32' },
    { name: 'labels', shape: [samples], dtype: 'int32' },
  ] as const;

/**
 * Scores one part of the validation split with an epoch's averaged parameters and
 * stores the scores and labels, so finishEpoch computes the AUCs from all of them
 * exactly as one pass over the split would.
 */
export async function validatePart(input: ValidatePartInput, hooks: JobHooks): Promise<ValidatePartResult> {
  const { store } = hooks;
  const layout = runLayout(input.outputUri);
  const { round } = input.position;
  const at = layout.validation(round, input.part);
  const done = await readJsonIfExists<StoredPart>(store, at.result);
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
    const batches = chunk(rows, Math.max(plan.config.batchSize, 256));
    const v = await predictRows(model, batches, batchOptions(plan), `dataset ${plan.datasetUri}`);
    const samples = v.labels.length;
    const scores = packTensors(scoreSpecs(samples, plan.config.model.nClasses), [v.probs, v.labels]);
    await store.write(at.scores, scores.data);
    const result: StoredPart = {
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

/** The parts' validation combined: the mean loss and the full report (200 ROC points, so the final model needs no second pass). */
async function combineParts(
  store: Storage,
  plan: Plan,
  input: FinishEpochInput,
): Promise<{ v: { loss: number; report: ClassificationReport } | undefined; seconds: number }> {
  const layout = runLayout(input.outputUri);
  const { round } = input.position;
  const where = `${input.outputUri} round ${round}`;
  const C = plan.config.model.nClasses;
  const parts = await Promise.all(
    Array.from({ length: input.parts }, async (_, k) => {
      const at = layout.validation(round, k);
      const r = await readJsonIfExists<StoredPart>(store, at.result);
      if (r === undefined) throw new Error(`${where}: validation part ${k} has no result`);
      const data = await store.readAll(at.scores);
      const [probs, labels] = unpackTensors({ specs: scoreSpecs(r.samples, C), data }, `${where} validation part ${k}`);
      return { r, probs: probs as Float32Array, labels: labels as Int32Array };
    }),
  );
  // Critical path: the slowest part.
  const seconds = Math.max(0, ...parts.map((p) => p.r.seconds));
  const n = parts.reduce((s, p) => s + p.r.samples, 0);
  if (n === 0) return { v: undefined, seconds };
  const probs = new Float32Array(n * C);
  const labels = new Int32Array(n);
  let off = 0;
  for (const p of parts) {
    probs.set(p.probs, off * C);
    labels.set(p.labels, off);
    off += p.r.samples;
  }
  const loss = parts.reduce((s, p) => s + p.r.lossSum, 0) / n;
  return { v: { loss, report: classificationReport(probs, labels, plan.config.classNames, 200) }, seconds };
}

/** Combines the parts' validation (loss weighted by rows, AUCs from all scores), selects the best epoch, and after the last epoch writes the model. */
export async function finishEpoch(input: FinishEpochInput, hooks: JobHooks): Promise<RoundDone> {
  const { store } = hooks;
  const done = await completedRound(store, input.outputUri, input);
  if (done !== undefined) return done;
  const layout = runLayout(input.outputUri);
  const { round, epoch } = input.position;
  const plan = await readPlan(store, input.outputUri);
  const avgAt = layout.average(round);
  const state = await readJsonIfExists<StartState>(store, avgAt.state);
  if (state === undefined)
    throw new Error(`${input.outputUri} round ${round}: the epoch's averaged parameters are missing (${avgAt.state})`);
  const averaged = await readParameters(store, state, avgAt);
  const { v, seconds } = await combineParts(store, plan, input);
  const trained: EpochMetrics = {
    epoch,
    loss: state.epochLossSum / state.epochSamples,
    samples: state.epochSamples,
    seconds: state.epochSeconds,
    samplesPerSecond: state.epochSamples / state.epochSeconds,
  };
  const epochMetrics = v ? withValidation(trained, v.loss, v.report) : trained;
  const history = [...state.history, epochMetrics];
  let best = state.best;
  const chosen = newBest(best, epochMetrics, plan.config.selectionMetric, v !== undefined);
  if (chosen !== undefined) {
    best = { ...chosen, uri: layout.best(epoch) };
    await store.write(best.uri, averaged.weights.data);
    if (v !== undefined) await store.write(`${best.uri}.report.json`, JSON.stringify(v.report));
  }
  const totals: RunTotals = { ...state.totals, validationSeconds: state.totals.validationSeconds + seconds };
  hooks.log?.(`[distributed] ${epochSummary(epochMetrics, plan.config.epochs)}`);
  const result =
    state.position.epoch >= plan.config.epochs
      ? await writeModel(store, plan, {
          history,
          best: best!,
          totals,
          workersPerRound: state.workersPerRound,
          hooks,
          outputUri: input.outputUri,
        })
      : undefined;
  const next = { ...state, history, best, totals, epochLossSum: 0, epochSamples: 0, epochSeconds: 0, result };
  await advance(store, input.outputUri, round, { ...averaged, state: next });
  return { next: state.position, epochMetrics, result };
}

/** The final model directory, written by the writer single-process training uses. */
async function writeModel(
  store: Storage,
  plan: Plan,
  s: {
    history: EpochMetrics[];
    best: { epoch: number; uri: string };
    totals: RunTotals;
    workersPerRound: [number, number][];
    hooks: JobHooks;
    outputUri: string;
  },
): Promise<DistributedTrainResult> {
  const backend: BackendInfo = await initBackend(plan.config.backend, { log: s.hooks.log ?? (() => undefined) });
  const model = buildModel(plan.config.model);
  try {
    const layout = runLayout(s.outputUri);
    const specs = (await modelTensors(model)).weights.specs;
    await loadIntoModel(model, { specs, data: await store.readAll(s.best.uri) }, undefined, 'best weights');
    const validationReport = s.history.some((h) => h.valLoss !== undefined)
      ? await store.readAll(`${s.best.uri}.report.json`)
      : undefined;
    const trainSeconds = s.history.reduce((a, h) => a + h.seconds, 0);
    const samplesPerSecond = s.totals.samples / trainSeconds;
    await writeModelDirectory(new ObjectArtifactSink(layout.model, store), {
      model,
      scaler: plan.scaler,
      particleScaler: plan.particleScaler,
      validationReport,
      metadata: {
        config: plan.config,
        datasetId: plan.datasetUri,
        backend,
        epochsCompleted: s.history.length,
        resumedFromEpoch: 0,
        bestEpoch: s.best.epoch,
        history: s.history,
        validation: validationSummary(validationReport),
        parameters: model.countParams(),
        trainSeconds,
        samplesPerSecond,
        distributed: {
          localSteps: plan.localSteps,
          warmupEpochs: plan.warmupEpochs,
          groupsPerWorker: plan.groupsPerWorker,
          workersPerRound: s.workersPerRound,
          totals: s.totals,
        },
      },
    });
    return {
      runId: plan.runId,
      modelUri: layout.model,
      metrics: bestEpochMetrics(s.history, s.best.epoch),
      backend: backend.kind,
      epochsCompleted: s.history.length,
      resumedFromEpoch: 0,
      samplesPerSecond,
      trainSeconds,
      bestEpoch: s.best.epoch,
      workersPerRound: s.workersPerRound,
      totals: s.totals,
    };
  } finally {
    model.dispose();
  }
}

/** metadata.json's summary of the best epoch's validation report, as single-process training records it. */
function validationSummary(report: Uint8Array | undefined) {
  if (report === undefined) return undefined;
  const r = JSON.parse(new TextDecoder().decode(report)) as ClassificationReport;
  return { ...r, perClass: r.perClass.map((c) => ({ className: c.className, auc: c.auc })) };
}
