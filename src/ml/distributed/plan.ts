/**
 * Distributed training's first step, once per run: validate the settings against the
 * dataset, list train.parquet's row groups, store the plan every later step reads and
 * round 0's starting parameters; for a rerun, say where the stored run stands.
 */
import type { HlfScaler, ParticleScaler } from '../../dataset/scaler.js';
import { datasetFiles } from '../../contract/run-layout.js';
import { readFeatureFileInfo } from '../../parquet/reader.js';
import { ObjectNotFoundError, type Storage } from '../../storage/index.js';
import { InvalidInputError } from '../../errors.js';
import { datasetClasses } from '../../dataset/classes.js';
import {
  groupsForSteps,
  type DistributedTrainResult,
  type RoundPosition,
  type RowGroupRef,
} from '../../contract/distributed-rounds.js';
import { initBackend } from '../backend.js';
import { validateParticleScaler, validateScaler } from '../data.js';
import { buildModel, modelInputs } from '../models.js';
import { validateTrainConfig, type TrainConfig } from '../training/config.js';
import { runLayout, roundOfStartState } from './layout.js';
import {
  EMPTY_TOTALS,
  modelTensors,
  readJsonIfExists,
  writeParameters,
  type JobHooks,
  type Plan,
  type StartState,
} from './round-state.js';

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

export interface PlanResult {
  readonly totalGroups: number;
  readonly groupsPerWorker: number;
  readonly epochs: number;
  /** Where the run stands: round 0 for a new run, the newest complete round for a rerun. */
  readonly position: RoundPosition;
  readonly result?: DistributedTrainResult | undefined;
}

const invalid = (m: string): never => {
  throw new InvalidInputError(m);
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

/** The settings checked against each other and the dataset: classes, local steps, warm-up. */
async function validateInput(store: Storage, input: DistributedPlanInput): Promise<void> {
  if (!(Number.isInteger(input.localSteps) && input.localSteps >= 1))
    invalid(`localSteps must be a positive integer, got ${input.localSteps}`);
  if (!(input.warmupEpochs >= 0)) invalid(`warmupEpochs must be ≥ 0, got ${input.warmupEpochs}`);
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
}

/** A new run's plan: the dataset's scalers and train.parquet's row groups. */
async function newPlan(store: Storage, input: DistributedPlanInput): Promise<Plan> {
  const { config } = input;
  const files = datasetFiles(input.datasetUri);
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
  return {
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
    particleScaler,
  };
}

/** Round 0's start: the freshly initialised model's weights, no history. */
async function writeRoundZero(input: DistributedPlanInput, hooks: JobHooks): Promise<RoundPosition> {
  await initBackend(input.config.backend, { log: hooks.log ?? (() => undefined) });
  const model = buildModel(input.config.model);
  try {
    const { weights } = await modelTensors(model);
    const position: RoundPosition = { round: 0, epoch: 0, cursor: 0 };
    const state: StartState = {
      position,
      history: [],
      best: null,
      epochLossSum: 0,
      epochSamples: 0,
      epochSeconds: 0,
      totals: EMPTY_TOTALS,
      workersPerRound: [],
      weightSpecs: weights.specs,
    };
    const at = runLayout(input.outputUri).start(0);
    await writeParameters(hooks.store, { ...at, marker: at.state }, { state, weights });
    return position;
  } finally {
    model.dispose();
  }
}

export async function planRun(input: DistributedPlanInput, hooks: JobHooks): Promise<PlanResult> {
  const { store } = hooks;
  const layout = runLayout(input.outputUri);
  await validateInput(store, input);
  const { config } = input;
  let plan = await readJsonIfExists<Plan>(store, layout.plan);
  if (plan !== undefined && planFingerprint(plan) !== planFingerprint(input)) {
    invalid(
      `${layout.plan} was written for other settings; refusing to resume (stored ${planFingerprint(plan)}, now ${planFingerprint(input)})`,
    );
  }
  // A stored plan asked for more epochs trains on where it stopped.
  plan =
    plan === undefined
      ? await newPlan(store, input)
      : { ...plan, config: { ...plan.config, epochs: config.epochs, backend: config.backend } };
  await store.writeJson(layout.plan, plan);
  let newest: number | undefined;
  for await (const o of store.list(layout.roundsPrefix)) {
    const r = roundOfStartState(o.uri);
    if (r !== undefined && (newest === undefined || r > newest)) newest = r;
  }
  const base = { totalGroups: plan.groups.length, groupsPerWorker: plan.groupsPerWorker, epochs: config.epochs };
  if (newest === undefined) return { ...base, position: await writeRoundZero(input, hooks) };
  const state = await store.readJson<StartState>(layout.start(newest).state);
  hooks.log?.(
    `[distributed] ${input.runId}: resuming at round ${newest} (epoch ${state.position.epoch}, row group ${state.position.cursor})`,
  );
  // A completed run asked for more epochs trains on; its old result no longer stands.
  const done = state.result !== undefined && state.position.epoch >= config.epochs;
  return { ...base, position: state.position, result: done ? state.result : undefined };
}
