import type { Storage } from '../src/storage/index.js';
import type { TrainRunResult } from '../src/contract/training.js';
import type { TrainConfig } from '../src/ml/training/config.js';
import type { GridParams } from '../src/ml/grid.js';
import type { TrainSpec } from '../src/stages/train-spec.js';
import type { TrialParams } from '../src/contract/tuning.js';
import { gridFiles } from '../src/contract/run-layout.js';
import { datasetClasses } from '../src/dataset/classes.js';
import { InvalidInputError } from '../src/errors.js';
import { toActivityFailure } from '../src/contract/errors.js';
import { withHeartbeat } from './heartbeat.js';
import { trainActivities } from './train.js';
import type { ActivityDeps } from './deps.js';

/** What a study keeps of one finished trial-rung: enough to never train it again. */
export interface TrialRungRecord {
  readonly trial: string;
  readonly index: number;
  readonly rung: number;
  readonly epochs: number;
  readonly params: TrialParams;
  readonly result: TrainRunResult;
}

export interface TrialRungInput {
  /** The study's output: the trial trains in <outputUri>/runs/<trial>/, the record goes to <outputUri>/study/. */
  readonly outputUri: string;
  readonly datasetUri: string;
  readonly trial: string;
  readonly index: number;
  readonly rung: number;
  readonly params: TrialParams;
  /** The trial's config, trained to `config.epochs` (the rung's budget), resuming from its checkpoint. */
  readonly config: TrainConfig;
}

/** The grid's names for a trial's values: `hiddenUnits` scales the spec's stack so its first layer has that width. */
export function gridParamsOf(params: TrialParams, base: TrainConfig): GridParams {
  const { hiddenUnits, hiddenLayers, ...rest } = params as Record<string, number | number[]>;
  const out: GridParams = { ...(rest as GridParams) };
  if (hiddenLayers !== undefined) out.hiddenLayers = [...(hiddenLayers as number[])];
  if (hiddenUnits !== undefined) {
    const stack = base.model.hiddenLayers;
    const units = hiddenUnits as number;
    out.hiddenLayers = stack.map((w) => Math.max(1, Math.round((w * units) / stack[0]!)));
  }
  return out;
}

async function readRecords(storage: Storage, outputUri: string): Promise<TrialRungRecord[]> {
  const out: TrialRungRecord[] = [];
  for await (const o of storage.list(`${gridFiles(outputUri).study}/`)) {
    if (o.uri.endsWith('.json')) out.push(await storage.readJson<TrialRungRecord>(o.uri));
  }
  return out.sort((a, b) => a.index - b.index || a.rung - b.rung);
}

export const tuneActivities = (deps: ActivityDeps) => {
  const { trainModel } = trainActivities(deps);
  const { storage } = deps;
  return {
    /** Each trial's training config: the spec over the defaults with the trial's values (validated here, where tfjs loads). */
    async planTrials(input: {
      readonly spec: TrainSpec;
      readonly datasetUri: string;
      readonly trials: readonly { readonly id: string; readonly params: TrialParams }[];
    }): Promise<{ id: string; params: GridParams; config: TrainConfig }[]> {
      return withHeartbeat(async () => {
        const classes = await datasetClasses(input.datasetUri, storage).catch((e) => {
          throw toActivityFailure(e);
        });
        const [{ resolveTrainSpec }, { applyGridPoint }] = await Promise.all([
          import('../src/stages/train-spec.js'),
          import('../src/ml/grid.js'),
        ]);
        try {
          const base = resolveTrainSpec(input.spec, classes);
          return input.trials.map((t) => {
            const params = gridParamsOf(t.params, base);
            return { id: t.id, params, config: applyGridPoint(base, { id: t.id, params }) };
          });
        } catch (e) {
          throw toActivityFailure(new InvalidInputError((e as Error).message, { cause: e }));
        }
      });
    },

    /** The trial-rungs a study has finished so far (none for a new study). */
    async loadStudy(input: { readonly outputUri: string }): Promise<TrialRungRecord[]> {
      return withHeartbeat(() => readRecords(storage, input.outputUri));
    },

    /**
     * One trial trained to its rung's epochs (the training activity: a retry or a later
     * promotion resumes from the trial's checkpoint), then its record stored, so a
     * restarted study finds it finished.
     */
    async trainTrialRung(input: TrialRungInput): Promise<TrainRunResult> {
      const { outputUri, trial, index, rung, params, datasetUri, config } = input;
      const result = await trainModel({
        runId: trial,
        datasetUri,
        outputUri: gridFiles(outputUri).run(trial),
        config,
        params: params as GridParams,
      });
      const record: TrialRungRecord = { trial, index, rung, epochs: config.epochs, params, result };
      await storage.writeJson(gridFiles(outputUri).trialRung(trial, rung), record);
      return result;
    },
  };
};
