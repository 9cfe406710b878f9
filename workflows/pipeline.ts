import { ApplicationFailure, executeChild, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { SampleInput } from '../src/contract/samples.js';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import type { DatasetKind } from '../src/dataset/assemble.js';
import type { PipelineReport, StageTiming } from '../src/stages/report.js';
import type { FeaturesResult } from './features.js';
import type { MixInput } from '../src/generator/mix.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { activitiesFor } from './activities.js';
import { runFiles } from '../src/contract/run-layout.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { withoutUndefined } from '../src/contract/defined.js';
import { ZERO_TALLY } from '../src/contract/tally.js';
import { generateWorkflow } from './generate.js';
import { featuresWorkflow } from './features.js';
import { gridSearchWorkflow, type GridSearchInput, type GridSearchResult } from './grid-search.js';
import { tuneWorkflow, type TuneSettings } from './tune.js';
import { pipelineInputSchema, validated } from './input-schemas.js';
import { trackProgress, upsertRunAttributes, type ProgressTracker } from './progress.js';
import { pipelineConfigSummary } from './pipeline-summary.js';

/**
 * One model of a run: its grid search's settings (the grid defaults to the spec alone,
 * one point; `workers` above 1 trains each point data-parallel, docs/distributed.md).
 */
export interface PipelineModel
  extends Pick<
    GridSearchInput,
    'spec' | 'grid' | 'pool' | 'gpuTaskQueue' | 'pointsInFlight' | 'selectionMetric' | 'workers' | 'localSteps'
  > {
  /** Names the model's output directory and its row in the report. */
  readonly name: string;
  /** A tuning study (docs/tuning.md) instead of the grid: its best trial is evaluated and registered as a grid's best is. */
  readonly tune?: TuneSettings;
}

export interface PipelineInput {
  /** Everything the run writes goes under this prefix. */
  readonly workUri: string;
  /**
   * Your Delphes ROOT files, one or more samples per class: `[{ name, uri | uris, label? }]`.
   * The order of their classes fixes the label indices everywhere after.
   */
  readonly samples?: readonly SampleInput[];
  /** Or a synthetic sample generated into <workUri>/input/ (the paper's three classes, labelled by sidecar). */
  readonly generate?: {
    readonly events: number;
    readonly files: number;
    readonly seed?: number;
    readonly mix?: MixInput;
    readonly pileup?: number;
  };
  readonly treeName?: string;
  readonly emptyIfMissing?: readonly (keyof DelphesEvent)[];
  /** Complete even when some input files fail (recorded in the manifest and the report). */
  readonly allowFailedFiles?: boolean;
  /**
   * `rowGroupSize` (1,000 rows): the Parquet row group is the unit a data-parallel
   * training shards by, so a small dataset trained by many workers needs smaller groups.
   */
  readonly dataset?: {
    readonly kind?: DatasetKind;
    readonly maxEvents?: number;
    readonly seed?: number;
    readonly testFraction?: number;
    readonly rowGroupSize?: number;
  };
  readonly models: readonly PipelineModel[];
  readonly filesInFlight?: number;
  /** Register each model's best point in the model registry (default true) under `<registryPrefix><name>`. */
  readonly register?: boolean;
  readonly registryPrefix?: string;
  /** Default: the worker's HEPFLOW_REGISTRY_URI, else `registry/` in the work URI's bucket (s3), else s3://<HEPFLOW_BUCKET>/registry. */
  readonly registryUri?: string;
  /**
   * How long every stage retries transient failures (storage or Temporal unreachable, a
   * worker lost): waits from `initialInterval` (1 s) doubling up to `maximumInterval`
   * (30 s) for `budget` (15 minutes) in all; see src/contract/policies.ts.
   */
  readonly retry?: RetrySettings;
}

type Timed = <T>(stage: string, run: () => Promise<T>) => Promise<T>;

interface Stages {
  readonly id: string;
  readonly input: PipelineInput;
  readonly tracker: ProgressTracker;
  readonly timed: Timed;
  readonly layout: ReturnType<typeof runFiles>;
  readonly retry: { retry?: RetrySettings };
  readonly ops: ReturnType<typeof activitiesFor>;
}

/** The samples to read: the input's, or a generated one (a child workflow writing <workUri>/input/). */
async function inputSamples(s: Stages): Promise<readonly SampleInput[]> {
  const { id, input, tracker, layout } = s;
  const generate = input.generate;
  if (!generate) {
    upsertRunAttributes({ samples: input.samples!.map((x) => x.name) });
    return input.samples!;
  }
  tracker.stage('generate');
  upsertRunAttributes({ samples: ['generated'] });
  const generated = await s.timed('generate', () =>
    tracker.child(`${id}-generate`, () =>
      executeChild(generateWorkflow, {
        workflowId: `${id}-generate`,
        staticSummary: `generate ${generate.events} events in ${generate.files} files`,
        args: [
          {
            outputUri: layout.input,
            ...generate,
            ...(input.filesInFlight ? { filesInFlight: input.filesInFlight } : {}),
            ...s.retry,
          },
        ],
      }),
    ),
  );
  return [{ name: 'generated', uri: generated.outputUri, sidecar: true }];
}

async function selectFeatures(s: Stages, samples: readonly SampleInput[]): Promise<FeaturesResult> {
  const { id, input, tracker, layout } = s;
  tracker.stage('features');
  return s.timed('features', () =>
    tracker.child(`${id}-features`, () =>
      executeChild(featuresWorkflow, {
        workflowId: `${id}-features`,
        staticSummary: `features of ${samples.map((x) => x.name).join(', ')}`,
        args: [
          {
            samples,
            outputUri: layout.features,
            ...(input.treeName ? { treeName: input.treeName } : {}),
            ...(input.emptyIfMissing ? { emptyIfMissing: input.emptyIfMissing } : {}),
            ...(input.filesInFlight ? { filesInFlight: input.filesInFlight } : {}),
            ...s.retry,
            ...(input.allowFailedFiles ? { allowFailedFiles: true } : {}),
          },
        ],
      }),
    ),
  );
}

/** The balanced, split dataset, checked against the features stage: every selected event arrived. */
async function assembleDataset(s: Stages, features: FeaturesResult) {
  const { input, tracker, layout, ops } = s;
  tracker.stage('dataset');
  const d = input.dataset;
  const dataset = await s.timed('dataset', () =>
    ops.buildDataset({
      featuresUri: layout.features,
      outputUri: layout.dataset(d?.kind ?? 'dev'),
      kind: d?.kind ?? 'dev',
      ...withoutUndefined({
        maxEvents: d?.maxEvents,
        seed: d?.seed,
        testFraction: d?.testFraction,
        rowGroupSize: d?.rowGroupSize,
      }),
    }),
  );
  const selected = (c: string) => features.totals.counters[`class:${c}`] ?? 0;
  const lost = features.classes.filter((c) => selected(c) !== dataset.available[c]);
  if (lost.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `events lost between features and dataset: ${lost.map((c) => `${c} selected ${selected(c)}, dataset read ${dataset.available[c]}`).join('; ')}`,
      WorkflowFailureTypes.eventsLost,
    );
  }
  return dataset;
}

/** One model's search: its grid (a child grid search) or its tuning study (a child tune workflow). */
function searchModel(s: Stages, m: PipelineModel, datasetUri: string): Promise<GridSearchResult> {
  const common = {
    name: m.name,
    datasetUri,
    outputUri: s.layout.models(m.name),
    spec: m.spec,
    ...(m.pool ? { pool: m.pool } : {}),
    ...(m.gpuTaskQueue ? { gpuTaskQueue: m.gpuTaskQueue } : {}),
    ...(m.pointsInFlight ? { pointsInFlight: m.pointsInFlight } : {}),
    ...(m.selectionMetric ? { selectionMetric: m.selectionMetric } : {}),
    ...s.retry,
  };
  const on = `(${m.spec.kind}) on the ${m.pool ?? 'cpu'} pool`;
  if (m.tune) {
    const workflowId = `${s.id}-tune-${m.name}`;
    const tune = m.tune;
    return s.tracker.child(workflowId, () =>
      executeChild(tuneWorkflow, {
        workflowId,
        staticSummary: `${tune.method} study of ${tune.trials} trials, ${m.name} ${on}`,
        args: [{ ...common, tune }],
      }),
    );
  }
  const workflowId = `${s.id}-grid-${m.name}`;
  return s.tracker.child(workflowId, () =>
    executeChild(gridSearchWorkflow, {
      workflowId,
      staticSummary: `grid search ${m.name} ${on}`,
      args: [
        {
          ...common,
          grid: m.grid ?? {},
          ...withoutUndefined({ workers: m.workers, localSteps: m.localSteps }),
        },
      ],
    }),
  );
}

async function trainModels(s: Stages, datasetUri: string): Promise<PipelineReport['models']> {
  s.tracker.stage('training');
  return Promise.all(
    s.input.models.map(async (m) => {
      const r = await s.timed(`${m.tune ? `${m.tune.method} study` : 'grid search'} ${m.name}`, () =>
        searchModel(s, m, datasetUri),
      );
      const kind = m.spec.kind === 'gru' ? 'particle-sequence' : m.spec.kind;
      const { best, trained, tableUri, evaluation } = r;
      return { name: m.name, kind, best, trained, failed: r.failed.length, tableUri, evaluation };
    }),
  );
}

/** Each model's best run into the model registry, with its lineage (unless `register` is false). */
async function registerBest(s: Stages, report: PipelineReport, samples: readonly SampleInput[]) {
  const { input } = s;
  if (input.register === false) return [];
  s.tracker.stage('register');
  return s.ops.registerModels({
    ...(input.registryUri ? { registryUri: input.registryUri } : {}),
    workUri: s.layout.work,
    datasetUri: report.dataset.datasetUri,
    featuresConfig: {
      samples: [...samples],
      treeName: input.treeName ?? null,
      emptyIfMissing: input.emptyIfMissing ?? [],
    },
    models: report.models.map((m) => ({
      name: `${input.registryPrefix ?? ''}${m.name}`,
      modelUri: m.best.modelUri,
      metrics: { validation: m.best.metrics, test: { accuracy: m.evaluation.accuracy, auc: m.evaluation.auc } },
    })),
  });
}

/**
 * The whole reference pipeline as one durable workflow: (generate) → select and
 * prepare features → assemble a balanced, shuffled, split dataset → one grid search (or
 * tuning study) per model, in parallel on the CPU or GPU pool → test-set evaluation →
 * report. Each stage is a child workflow or activity whose outputs live in object
 * storage, so a crash or a redeploy resumes at the stage it had reached.
 */
export async function pipelineWorkflow(input: PipelineInput): Promise<
  PipelineReport & {
    reportUri: string;
    htmlReportUri: string;
    registered: { name: string; version: number; modelUri: string }[];
  }
> {
  validated(pipelineInputSchema, input);
  const id = workflowInfo().workflowId;
  const tracker = trackProgress('pipeline', { stage: 'starting', searchable: true });
  upsertMemo({ config: pipelineConfigSummary(input) });
  // Workflow time (Date.now() is replay-safe here): a few numbers per stage for the report.
  const timings: StageTiming[] = [];
  const timed: Timed = async (stage, run) => {
    const t0 = Date.now();
    const r = await run();
    timings.push({ stage, startedAt: new Date(t0).toISOString(), seconds: (Date.now() - t0) / 1000 });
    return r;
  };
  // Settings that make no policy fail the run here, before any stage starts.
  const ops = activitiesFor('data', { retry: input.retry });
  const s: Stages = {
    id,
    input,
    tracker,
    timed,
    layout: runFiles(input.workUri),
    retry: input.retry ? { retry: input.retry } : {},
    ops,
  };
  const samples = await inputSamples(s);
  const features = await selectFeatures(s, samples);
  const dataset = await assembleDataset(s, features);
  const models = await trainModels(s, dataset.datasetUri);
  const report: PipelineReport = {
    workflowId: id,
    samples: samples.map((x, i) => ({ ...x, ...(features.perSample[i] ?? ZERO_TALLY) })),
    classes: features.classes,
    features: {
      manifestUri: features.manifestUri,
      files: features.listing.files,
      bytes: features.listing.bytes,
      failed: features.totals.failed,
      counters: features.totals.counters,
      allowFailedFiles: features.allowFailedFiles,
    },
    dataset,
    models,
    timings,
  };
  const best = models
    .map((m) => ({ name: m.name, auc: meanOf(Object.values(m.evaluation.auc)) }))
    .reduce((a, b) => (b.auc > a.auc ? b : a));
  upsertRunAttributes({ model: best.name, bestAuc: best.auc });
  tracker.stage('report');
  const { markdownUri, htmlUri } = await ops.writePipelineReport({
    workUri: s.layout.work,
    report,
  });
  const registered = await registerBest(s, report, samples);
  tracker.stage('done');
  return { ...report, reportUri: markdownUri, htmlReportUri: htmlUri, registered };
}

const meanOf = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
