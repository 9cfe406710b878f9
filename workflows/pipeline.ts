import { ApplicationFailure, executeChild, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { SampleInput } from '../src/contract/samples.js';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import type { DatasetKind } from '../src/dataset/assemble.js';
import type { PipelineReport, StageTiming } from '../src/stages/report.js';
import type { MixInput } from '../src/generator/mix.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { activitiesFor } from './activities.js';
import { runFiles } from '../src/contract/run-layout.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { ZERO_TALLY } from '../src/contract/tally.js';
import { generateWorkflow } from './generate.js';
import { featuresWorkflow } from './features.js';
import { gridSearchWorkflow, type GridSearchInput } from './grid-search.js';
import { pipelineInputSchema, validated } from './input-schemas.js';
import { trackProgress, upsertRunAttributes } from './progress.js';
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

/**
 * The whole reference pipeline as one durable workflow: (generate) → select and
 * prepare features → assemble a balanced, shuffled, split dataset → one grid search per
 * model, in parallel on the CPU or GPU pool → test-set evaluation → report. Each stage
 * is a child workflow or activity whose outputs live in object storage, so a crash or
 * a redeploy resumes at the stage it had reached.
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
  const timed = async <T>(stage: string, run: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await run();
    timings.push({ stage, startedAt: new Date(t0).toISOString(), seconds: (Date.now() - t0) / 1000 });
    return r;
  };
  const ops = activitiesFor('data', { retry: input.retry });
  const retry = input.retry ? { retry: input.retry } : {};
  const layout = runFiles(input.workUri);
  const work = layout.work;
  let samples = input.samples;
  const generate = input.generate;
  if (generate) {
    tracker.stage('generate');
    upsertRunAttributes({ samples: ['generated'] });
    const generated = await timed('generate', () =>
      tracker.child(`${id}-generate`, () =>
        executeChild(generateWorkflow, {
          workflowId: `${id}-generate`,
          staticSummary: `generate ${generate.events} events in ${generate.files} files`,
          args: [
            {
              outputUri: layout.input,
              ...generate,
              ...(input.filesInFlight ? { filesInFlight: input.filesInFlight } : {}),
              ...retry,
            },
          ],
        }),
      ),
    );
    samples = [{ name: 'generated', uri: generated.outputUri, sidecar: true }];
  } else {
    upsertRunAttributes({ samples: samples!.map((s) => s.name) });
  }

  tracker.stage('features');
  const features = await timed('features', () =>
    tracker.child(`${id}-features`, () =>
      executeChild(featuresWorkflow, {
        workflowId: `${id}-features`,
        staticSummary: `features of ${samples!.map((s) => s.name).join(', ')}`,
        args: [
          {
            samples: samples!,
            outputUri: layout.features,
            ...(input.treeName ? { treeName: input.treeName } : {}),
            ...(input.emptyIfMissing ? { emptyIfMissing: input.emptyIfMissing } : {}),
            ...(input.filesInFlight ? { filesInFlight: input.filesInFlight } : {}),
            ...retry,
            ...(input.allowFailedFiles ? { allowFailedFiles: true } : {}),
          },
        ],
      }),
    ),
  );
  tracker.stage('dataset');
  const dataset = await timed('dataset', () =>
    ops.buildDataset({
      featuresUri: layout.features,
      outputUri: layout.dataset(input.dataset?.kind ?? 'dev'),
      kind: input.dataset?.kind ?? 'dev',
      ...(input.dataset?.maxEvents !== undefined ? { maxEvents: input.dataset.maxEvents } : {}),
      ...(input.dataset?.seed !== undefined ? { seed: input.dataset.seed } : {}),
      ...(input.dataset?.testFraction !== undefined ? { testFraction: input.dataset.testFraction } : {}),
      ...(input.dataset?.rowGroupSize !== undefined ? { rowGroupSize: input.dataset.rowGroupSize } : {}),
    }),
  );
  // Event conservation across stages: the dataset balanced from every selected event.
  const lost = features.classes.filter((c) => (features.totals.counters[`class:${c}`] ?? 0) !== dataset.available[c]);
  if (lost.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `events lost between features and dataset: ${lost.map((c) => `${c} selected ${features.totals.counters[`class:${c}`] ?? 0}, dataset read ${dataset.available[c]}`).join('; ')}`,
      WorkflowFailureTypes.eventsLost,
    );
  }
  tracker.stage('training');
  const models = await Promise.all(
    input.models.map(async (m) => {
      const r = await timed(`grid search ${m.name}`, () =>
        tracker.child(`${id}-grid-${m.name}`, () =>
          executeChild(gridSearchWorkflow, {
            workflowId: `${id}-grid-${m.name}`,
            staticSummary: `grid search ${m.name} (${m.spec.kind}) on the ${m.pool ?? 'cpu'} pool`,
            args: [
              {
                name: m.name,
                datasetUri: dataset.datasetUri,
                outputUri: layout.models(m.name),
                spec: m.spec,
                grid: m.grid ?? {},
                ...(m.pool ? { pool: m.pool } : {}),
                ...(m.gpuTaskQueue ? { gpuTaskQueue: m.gpuTaskQueue } : {}),
                ...(m.pointsInFlight ? { pointsInFlight: m.pointsInFlight } : {}),
                ...(m.selectionMetric ? { selectionMetric: m.selectionMetric } : {}),
                ...(m.workers !== undefined ? { workers: m.workers } : {}),
                ...(m.localSteps !== undefined ? { localSteps: m.localSteps } : {}),
                ...retry,
              },
            ],
          }),
        ),
      );
      const kind = m.spec.kind === 'gru' ? 'particle-sequence' : m.spec.kind;
      return {
        name: m.name,
        kind,
        best: r.best,
        trained: r.trained,
        failed: r.failed.length,
        tableUri: r.tableUri,
        evaluation: r.evaluation,
      };
    }),
  );
  const report: PipelineReport = {
    workflowId: id,
    samples: samples!.map((s, i) => ({ ...s, ...(features.perSample[i] ?? ZERO_TALLY) })),
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
  const { markdownUri, htmlUri } = await ops.writePipelineReport({ workUri: work, report });
  if (input.register !== false) tracker.stage('register');
  const registered =
    input.register === false
      ? []
      : await ops.registerModels({
          ...(input.registryUri ? { registryUri: input.registryUri } : {}),
          workUri: work,
          datasetUri: dataset.datasetUri,
          featuresConfig: {
            samples: samples!,
            treeName: input.treeName ?? null,
            emptyIfMissing: input.emptyIfMissing ?? [],
          },
          models: models.map((m) => ({
            name: `${input.registryPrefix ?? ''}${m.name}`,
            modelUri: m.best.modelUri,
            metrics: { validation: m.best.metrics, test: { accuracy: m.evaluation.accuracy, auc: m.evaluation.auc } },
          })),
        });
  tracker.stage('done');
  return { ...report, reportUri: markdownUri, htmlReportUri: htmlUri, registered };
}

const meanOf = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
