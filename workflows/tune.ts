import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { TrainRunResult } from '../src/contract/training.js';
import type { TrainConfig } from '../src/ml/training/config.js';
import type { TrialRungRecord } from '../activities/tune.js';
import {
  epochsTrained,
  latestRungs,
  nextJob,
  rungEpochs,
  sampleTrial,
  trialId,
  validateHalving,
  validateSearchSpace,
  type HalvingConfig,
  type Job,
  type RungResult,
  type Sampler,
  type SearchSpace,
  type TrialParams,
} from '../src/contract/tuning.js';
import { formatParams, type PointProgress } from '../src/contract/progress.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { activitiesFor, trainingActivitiesOn } from './activities.js';
import { tuneInputSchema, validated } from './input-schemas.js';
import { trackProgress, upsertRunAttributes, type ProgressTracker } from './progress.js';
import { errorOf, selectAndEvaluate } from './select-evaluate.js';
import type { GridSearchInput, GridSearchResult } from './grid-search.js';

/** How a study searches (docs/tuning.md). */
export interface TuneSettings {
  /** asha: successive halving; hyperband: ASHA over several brackets; random: every trial to maxEpochs. */
  readonly method: 'asha' | 'hyperband' | 'random';
  /** Trials sampled in all; a rerun with more adds trials, keeping the finished ones. */
  readonly trials: number;
  /** Ranges per hyper-parameter (src/contract/tuning.ts); default: defaultSearchSpace of the spec's kind. */
  readonly space?: unknown;
  /** halton (quasi-random, the default: even coverage with few trials) or random. */
  readonly sampler?: Sampler;
  readonly seed?: number;
  /** The first rung's epochs (default 1). */
  readonly minEpochs?: number;
  /** The last rung's epochs (default: the spec's training epochs, else 9). */
  readonly maxEpochs?: number;
  /** The halving rate: a rung promotes its top 1/eta (default 3). */
  readonly eta?: number;
  /** Hyperband's brackets (default: as many as there are rungs; asha and random: 1). */
  readonly brackets?: number;
}

export interface TuneInput
  extends Pick<
    GridSearchInput,
    | 'name'
    | 'datasetUri'
    | 'outputUri'
    | 'spec'
    | 'pool'
    | 'gpuTaskQueue'
    | 'pointsInFlight'
    | 'selectionMetric'
    | 'heartbeatTimeout'
    | 'retry'
  > {
  readonly tune: TuneSettings;
}

export interface StudySummary {
  readonly method: TuneSettings['method'];
  readonly trials: number;
  /** The epochs of each rung. */
  readonly rungs: readonly number[];
  /** Trial-rungs finished, and how many of them an earlier run of the study had finished. */
  readonly trialRungs: number;
  readonly reused: number;
  /** Epochs trained by all trials together: the study's compute, in epochs of one model. */
  readonly epochs: number;
  /** Trial-rungs finished at each rung. */
  readonly perRung: readonly number[];
}

export type TuneResult = GridSearchResult & { readonly study: StudySummary };

/** The space searched when none is given: the reference model's main knobs around its defaults. */
export function defaultSearchSpace(kind: string): SearchSpace {
  const common: SearchSpace = {
    learningRate: { type: 'loguniform', min: 1e-4, max: 1e-2 },
    batchSize: { type: 'choice', values: [32, 64, 128, 256] },
    dropout: { type: 'uniform', min: 0, max: 0.5 },
  };
  if (kind === 'hlf') return { ...common, hiddenUnits: { type: 'int', min: 10, max: 200, log: true } };
  return { ...common, gruUnits: { type: 'int', min: 16, max: 128, log: true } };
}

const invalid = (e: unknown): never => {
  throw ApplicationFailure.nonRetryable(`input: ${(e as Error).message}`, WorkflowFailureTypes.invalidInput);
};

/** The study's fixed plan: the halving settings and each trial's values, from the input alone. */
function studyPlan(input: TuneInput): { halving: HalvingConfig; space: SearchSpace; trials: TrialParams[] } {
  const t = input.tune;
  try {
    const space = validateSearchSpace(t.space ?? defaultSearchSpace(input.spec.kind));
    const maxEpochs = t.maxEpochs ?? input.spec.training?.epochs ?? 9;
    const minEpochs = t.method === 'random' ? maxEpochs : (t.minEpochs ?? 1);
    const eta = t.eta ?? 3;
    const rungs = rungEpochs({ minEpochs, maxEpochs, eta }).length;
    const brackets = t.method === 'hyperband' ? (t.brackets ?? rungs) : 1;
    const halving = validateHalving({ minEpochs, maxEpochs, eta, brackets });
    const trials = Array.from({ length: t.trials }, (_, i) =>
      sampleTrial(space, t.sampler ?? 'halton', t.seed ?? 1, i),
    );
    return { halving, space, trials };
  } catch (e) {
    return invalid(e);
  }
}

/** Keeps history small: past this many events the study continues as new and reloads its records. */
const HISTORY_LIMIT = 4000;

/**
 * A tuning study as one durable workflow: trials sampled from a search space, each
 * trial-rung one training activity (epochs = the rung's budget, resuming from the
 * trial's checkpoint), promotions decided here as results arrive (asynchronous
 * successive halving), at most `pointsInFlight` trainings at once. Every finished
 * trial-rung is stored, so a rerun of the study (same outputUri) trains only what is
 * missing: after a crash, a cancel, or with more trials. The best trial is evaluated on
 * the test set as a grid search's best is.
 */
export async function tuneWorkflow(input: TuneInput): Promise<TuneResult> {
  validated(tuneInputSchema, input);
  const metric = input.selectionMetric ?? 'valMeanAuc';
  const model = input.name ?? input.spec.kind;
  const { halving, trials } = studyPlan(input);
  const epochs = rungEpochs(halving);
  const tracker = trackProgress('tune', { stage: 'planning', searchable: true, model });
  upsertRunAttributes({ model });
  const cpuOps = activitiesFor('data', { retry: input.retry });
  const ids = trials.map((_, i) => trialId(i));
  const [plans, stored] = await Promise.all([
    cpuOps.planTrials({
      spec: input.spec,
      datasetUri: input.datasetUri,
      trials: ids.map((id, i) => ({ id, params: trials[i]! })),
    }),
    cpuOps.loadStudy({ outputUri: input.outputUri }),
  ]);
  // A record of other values or epochs (the space or the seed changed) is another study's.
  const kept = stored.filter(
    (r) =>
      r.index < trials.length &&
      r.epochs === epochs[r.rung] &&
      JSON.stringify(r.params) === JSON.stringify(trials[r.index]),
  );
  upsertMemo({
    config: {
      model,
      kind: input.spec.kind,
      datasetUri: input.datasetUri,
      method: input.tune.method,
      trials: trials.length,
      rungs: epochs,
      pool: input.pool ?? 'cpu',
      selectionMetric: metric,
    },
  });
  const study = new Study(input, tracker, halving, trials, plans, kept);
  tracker.stage('training', { points: study.progress() });
  const finished = await study.run(input.pointsInFlight ?? 4);
  if (!finished) await continueAsNew<typeof tuneWorkflow>(input);
  const selected = await selectAndEvaluate(tracker, {
    outputUri: input.outputUri,
    datasetUri: input.datasetUri,
    outcomes: study.outcomes(),
    failed: study.failed,
    metric,
    retry: input.retry,
    what: 'trial',
  });
  return { ...selected, trained: study.outcomes().length, failed: study.failed, study: study.summary(kept.length) };
}

/** A study's state as results arrive: what finished (scores, results), what runs, and the decisions over them. */
class Study {
  private readonly results: RungResult[] = [];
  private readonly runs = new Map<string, TrainRunResult>();
  private running: Job[] = [];
  readonly failed: { runId: string; error: string }[] = [];
  private changed = false;
  private cancelled = false;
  private readonly metric: string;
  private readonly train;

  constructor(
    private readonly input: TuneInput,
    private readonly tracker: ProgressTracker,
    private readonly halving: HalvingConfig,
    private readonly trials: readonly TrialParams[],
    private readonly plans: readonly { id: string; config: TrainConfig }[],
    records: readonly TrialRungRecord[],
  ) {
    this.metric = input.selectionMetric ?? 'valMeanAuc';
    this.train = trainingActivitiesOn(input).trainTrialRung;
    for (const r of records) this.finish({ index: r.index, rung: r.rung }, r.result);
  }

  private score(r: TrainRunResult): number | undefined {
    const v = r.metrics[this.metric];
    if (v === undefined || !Number.isFinite(v)) return undefined;
    return this.metric === 'valLoss' ? -v : v;
  }

  private finish(job: Job, r: TrainRunResult): void {
    this.results.push({ ...job, score: this.score(r) });
    this.runs.set(`${job.index}/${job.rung}`, r);
  }

  /**
   * Runs the study until no trial is left to start or promote. False when the history
   * grew past HISTORY_LIMIT: what runs has finished and the caller continues as new.
   */
  async run(inFlight: number): Promise<boolean> {
    for (;;) {
      const full = workflowInfo().historyLength > HISTORY_LIMIT || workflowInfo().continueAsNewSuggested;
      while (!full && !this.cancelled && this.running.length < inFlight) {
        const d = nextJob(this.halving, this.plans.length, this.results, this.running);
        if (!('next' in d)) break;
        this.start(d.next);
      }
      if (this.running.length === 0) {
        if (this.cancelled) throw new CancelledFailure('tuning study cancelled');
        return !full;
      }
      this.changed = false;
      try {
        await condition(() => this.changed);
      } catch (e) {
        // Cancelled: the trainings stop between two batches; wait for them, then end CANCELED.
        if (!isCancellation(e)) throw e;
        this.cancelled = true;
        await CancellationScope.nonCancellable(() => condition(() => this.running.length === 0));
        throw e;
      }
    }
  }

  private start(job: Job): void {
    this.running.push(job);
    const plan = this.plans[job.index]!;
    const epochs = rungEpochs(this.halving)[job.rung]!;
    this.publish();
    const options = {
      summary: `${this.input.name ?? this.input.spec.kind} ${plan.id} rung ${job.rung} (${epochs} epochs): ${formatParams(this.trials[job.index]!)}`,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    };
    const args = {
      outputUri: this.input.outputUri,
      datasetUri: this.input.datasetUri,
      trial: plan.id,
      index: job.index,
      rung: job.rung,
      params: this.trials[job.index]!,
      config: { ...plan.config, epochs },
    };
    void this.train
      .executeWithOptions(options, [args])
      .then(
        (r) => {
          this.finish(job, r);
          const best = this.best();
          if (best !== undefined) upsertRunAttributes({ bestAuc: best.metrics.valMeanAuc ?? Number.NaN });
        },
        (e: unknown) => {
          if (isCancellation(e)) this.cancelled = true;
          else {
            this.results.push({ ...job, score: undefined });
            this.failed.push({ runId: `${plan.id} rung ${job.rung}`, error: errorOf(e) });
          }
        },
      )
      .finally(() => {
        this.running = this.running.filter((j) => j !== job);
        this.changed = true;
        this.publish();
        this.remember();
      });
  }

  /** Each trial's newest model: what selection chooses from. */
  outcomes(): TrainRunResult[] {
    return latestRungs(this.results.filter((r) => this.runs.has(`${r.index}/${r.rung}`))).map(
      (r) => this.runs.get(`${r.index}/${r.rung}`)!,
    );
  }

  private best(): TrainRunResult | undefined {
    return this.outcomes().reduce<TrainRunResult | undefined>(
      (b, r) => ((this.score(r) ?? -Infinity) > (b ? (this.score(b) ?? -Infinity) : -Infinity) ? r : b),
      undefined,
    );
  }

  /** Each trial as the progress query and `hepflow status` show it: its values, rung and score. */
  progress(): PointProgress[] {
    const last = new Map(latestRungs(this.results).map((r) => [r.index, r]));
    return this.plans.map((p, index) => {
      const run = this.running.find((j) => j.index === index);
      const done = last.get(index);
      const result = done && this.runs.get(`${index}/${done.rung}`);
      const status = run ? 'running' : done ? (result ? 'done' : 'failed') : 'waiting';
      return {
        id: p.id,
        params: this.trials[index]!,
        status,
        ...(run ? { rung: run.rung } : done ? { rung: done.rung } : {}),
        ...(result?.metrics.valMeanAuc !== undefined ? { valMeanAuc: result.metrics.valMeanAuc } : {}),
      };
    });
  }

  private publish(): void {
    this.tracker.update({ points: this.progress() });
  }

  /** The study so far in the memo (the UI's and `hepflow runs`' view of a finished or running study). */
  private remember(): void {
    const best = this.best();
    const perRung = rungEpochs(this.halving).map((_, k) => this.results.filter((r) => r.rung === k).length);
    upsertMemo({
      study: {
        trialRungs: this.results.length,
        perRung,
        ...(best ? { best: best.runId, bestMetrics: best.metrics } : {}),
      },
    });
  }

  summary(reused: number): StudySummary {
    const epochs = rungEpochs(this.halving);
    return {
      method: this.input.tune.method,
      trials: this.plans.length,
      rungs: epochs,
      trialRungs: this.runs.size,
      reused,
      epochs: epochsTrained(
        this.halving,
        this.results.filter((r) => this.runs.has(`${r.index}/${r.rung}`)),
      ),
      perRung: epochs.map(
        (_, k) => this.results.filter((r) => r.rung === k && this.runs.has(`${r.index}/${k}`)).length,
      ),
    };
  }
}
